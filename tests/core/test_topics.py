"""One topic rule for leaderboards, scrape jobs and recommendation cache keys."""

from __future__ import annotations

import pytest

from miles_core.topics import MAX_TOPIC_CHARS, fold_text, normalize_topic


def test_topics_fold_case_and_whitespace() -> None:
    assert normalize_topic("  Home \t  WORKOUTS\n") == "home workouts"
    assert normalize_topic("cooking hacks") == normalize_topic("Cooking  Hacks")


@pytest.mark.parametrize("topic", ["", "   ", "\n\t"])
def test_an_empty_topic_is_refused(topic: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        normalize_topic(topic)


def test_the_length_limit_counts_the_folded_topic() -> None:
    assert normalize_topic("a" * MAX_TOPIC_CHARS + "   ") == "a" * MAX_TOPIC_CHARS
    with pytest.raises(ValueError, match=str(MAX_TOPIC_CHARS)):
        normalize_topic("a" * (MAX_TOPIC_CHARS + 1))


def test_tags_fold_the_same_way_but_are_never_refused() -> None:
    assert fold_text("  ") == ""
    assert fold_text("Morning  Routine") == "morning routine"
    assert fold_text("x" * 500) == "x" * 500
