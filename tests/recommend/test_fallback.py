"""The fallback generator is deterministic, data-driven and always returns valid ideas."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from miles_core.recommend.fallback import DEFAULT_POSTING_HOUR_UTC, generate_fallback_ideas
from miles_core.recommend.models import MAX_COUNT, Candidate, IdeaDraft, Vibe
from miles_core.recommend.patterns import extract_patterns


def test_same_input_same_ideas(candidates: list[Candidate]) -> None:
    patterns = extract_patterns(candidates)
    first = generate_fallback_ideas("home workouts", Vibe.EDUCATIONAL, 5, patterns)
    second = generate_fallback_ideas("home workouts", Vibe.EDUCATIONAL, 5, extract_patterns(list(candidates)))
    assert first == second
    assert len(first) == 5


@pytest.mark.parametrize("vibe", list(Vibe))
@pytest.mark.parametrize("count", [1, 4, MAX_COUNT])
def test_every_vibe_gives_count_distinct_valid_ideas(candidates: list[Candidate], vibe: Vibe, count: int) -> None:
    ideas = generate_fallback_ideas("home workouts", vibe, count, extract_patterns(candidates))
    assert len(ideas) == count
    assert len({i.title.casefold() for i in ideas}) == count
    for idea in ideas:
        IdeaDraft.model_validate(idea.model_dump())  # within every schema bound


def test_ideas_use_the_patterns(candidates: list[Candidate]) -> None:
    patterns = extract_patterns(candidates)
    ideas = generate_fallback_ideas("home workouts", Vibe.EDUCATIONAL, 3, patterns)
    # The most frequent phrase is the first subject; the most common hour and median duration are used.
    assert "HOME WORKOUT" in ideas[0].title.upper()
    assert ideas[0].suggested_posting_hour_utc == patterns.best_posting_hour_utc == 17
    assert {i.suggested_duration_seconds for i in ideas} == {38}
    assert "home workout" in ideas[0].reasoning
    # Number hooks are the most common hook in the data, so a number template comes first.
    assert any(ch.isdigit() for ch in ideas[0].title)


def test_different_data_gives_different_ideas(candidates: list[Candidate]) -> None:
    with_data = generate_fallback_ideas("home workouts", Vibe.FUNNY, 3, extract_patterns(candidates))
    without = generate_fallback_ideas("home workouts", Vibe.FUNNY, 3, extract_patterns([]))
    assert with_data != without
    assert all(i.suggested_posting_hour_utc == DEFAULT_POSTING_HOUR_UTC for i in without)
    assert all("home workouts" in i.title.lower() for i in without)


@pytest.mark.parametrize("vibe", list(Vibe))
def test_a_topic_long_enough_to_clip_every_title_still_gets_distinct_ideas(vibe: Vibe, candidates) -> None:
    """Found by the contract fuzzer: an 80-character topic made every title clip to one prefix (endless loop)."""
    topic = "0" * 79
    ideas = generate_fallback_ideas(topic, vibe, 10, extract_patterns(candidates))
    assert len({idea.title.casefold() for idea in ideas}) == 10
    assert all(len(idea.title) <= 100 for idea in ideas)


TOPICS = ["minecraft", "home workouts", "football", "makeup tutorials", "street food", "cats"]


def _candidates_for(topic: str) -> list[Candidate]:
    """A topic's top videos: recurring tags (one adjective, one noun phrase), no recurring phrase."""
    return [
        Candidate(
            video_id=f"v{i}",
            title=f"{topic}: {('alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel')[i]} {i}",
            tags=(topic, "funny", f"{topic} tips"),
            published_at=datetime(2026, 5, 1, 12 + i % 3, tzinfo=UTC),
        )
        for i in range(8)
    ]


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("vibe", list(Vibe))
def test_titles_are_grammatical_for_any_topic(topic: str, vibe: Vibe) -> None:
    for patterns in (extract_patterns(_candidates_for(topic)), extract_patterns([])):
        for idea in generate_fallback_ideas(topic, vibe, 5, patterns):
            for wording in idea.titles:  # the title and its alternatives follow the same grammar
                title = wording.casefold()
                assert f"how to {topic}" not in title  # the topic is never used as a verb
                assert not re.search(rf"\d+ {re.escape(topic)} (mistakes|moments|tips)", title)  # nor as a modifier
                assert " funny wrong" not in title  # a bare adjective tag is never the subject
                assert not set("{}") & set(title)  # every placeholder filled
            assert idea.reasoning.startswith("Observed pattern: ")


@pytest.mark.parametrize("vibe", list(Vibe))
def test_every_idea_has_distinct_alternative_titles_for_the_same_subject(vibe: Vibe, candidates) -> None:
    patterns = extract_patterns(candidates)
    for idea in generate_fallback_ideas("home workouts", vibe, 10, patterns):
        assert 1 <= len(idea.alternative_titles) <= 2
        assert len({t.casefold() for t in idea.titles}) == len(idea.titles)
        # Wordings of the same video: every one names what the idea films (a phrase of the topic).
        assert all("home" in t.casefold() or "workout" in t.casefold() for t in idea.titles), idea.titles


@pytest.mark.parametrize("topic", TOPICS)
def test_ideas_vary_and_name_the_pattern_they_use(topic: str) -> None:
    ideas = generate_fallback_ideas(topic, Vibe.EDUCATIONAL, MAX_COUNT, extract_patterns(_candidates_for(topic)))
    assert len({i.title.split()[0] for i in ideas[:5]}) >= 4  # different shapes, not one template five times
    reasons = " ".join(i.reasoning for i in ideas)
    assert f"the tag '{topic} tips'" in reasons
    assert "the tag 'funny'" in reasons
    assert any(f"funny {topic}" in i.title.casefold() for i in ideas)  # an adjective tag becomes an angle
