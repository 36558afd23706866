"""Trend patterns are computed from the candidates' data and are reproducible."""

from __future__ import annotations

import random

from miles_core.recommend.patterns import Candidate, extract_patterns, has_emoji
from miles_core.topics import normalize_topic


def test_patterns_reflect_the_data(candidates: list[Candidate]) -> None:
    patterns = extract_patterns(candidates)
    assert patterns.candidates_analyzed == 8
    words = {w.text: w.count for w in patterns.top_words}
    assert words["workout"] == 8
    assert words["home"] == 5
    phrases = {p.text: p.count for p in patterns.top_phrases}
    assert phrases["home workout"] == 4
    assert phrases["full body"] == 3
    assert all(p.count >= 2 for p in patterns.top_phrases)
    # 5, 10, 7/30, 3 -> four titles with a number; two with '?' or a question word; two with emoji.
    assert patterns.hooks["number"] == 0.5
    assert patterns.hooks["question"] == 0.25
    assert patterns.hooks["emoji"] == 0.25
    assert patterns.hooks["pov"] == 0.125
    assert patterns.style["all_caps_word"] == 0.375  # NO, BEST, POV
    assert patterns.posting_hours_utc[0].hour_utc == 17
    assert patterns.posting_hours_utc[0].count == 3
    assert patterns.duration_seconds.median == 38.5
    assert patterns.dominant_category_id == 17
    tags = {t.text: t.count for t in patterns.top_tags}
    assert tags["home workout"] == 3


def test_patterns_do_not_depend_on_input_order(candidates: list[Candidate]) -> None:
    shuffled = list(candidates)
    random.Random(7).shuffle(shuffled)
    assert extract_patterns(shuffled) == extract_patterns(candidates)


def test_patterns_of_nothing_are_empty_not_an_error() -> None:
    patterns = extract_patterns([])
    assert patterns.candidates_analyzed == 0
    assert patterns.top_words == []
    assert patterns.posting_hours_utc == []
    assert patterns.duration_seconds.median is None
    assert all(share == 0.0 for share in patterns.hooks.values())


def test_topic_normalization_and_emoji() -> None:
    assert normalize_topic("  Home   WORKOUTS ") == "home workouts"
    assert has_emoji("abs 💪")
    assert not has_emoji("abs: 5 moves!")
