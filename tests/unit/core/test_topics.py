"""One topic rule for leaderboards, scrape jobs and recommendation cache keys."""

from __future__ import annotations

import re
import unicodedata

import pytest

from miles_core.api.fields import TOPIC_PATTERN
from miles_core.topics import (
    FORMAT_CHARACTER_RANGES,
    MAX_TOPIC_BYTES,
    MAX_TOPIC_CHARS,
    fold_text,
    normalize_topic,
    topic_digest,
)


def test_topics_fold_case_and_whitespace() -> None:
    assert normalize_topic("  Home \t  WORKOUTS\n") == "home workouts"
    assert normalize_topic("cooking hacks") == normalize_topic("Cooking  Hacks")


@pytest.mark.parametrize("topic", ["", "   ", "\n\t"])
def test_an_empty_topic_is_refused(topic: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        normalize_topic(topic)


def test_the_length_limit_counts_the_topic_as_typed_and_folding_may_lengthen_it() -> None:
    assert normalize_topic("a" * MAX_TOPIC_CHARS + "   ") == "a" * MAX_TOPIC_CHARS
    with pytest.raises(ValueError, match=str(MAX_TOPIC_CHARS)):
        normalize_topic("a" * (MAX_TOPIC_CHARS + 1))
    ligatures = "\ufb01" * MAX_TOPIC_CHARS  # what the API field allows: 80 characters
    assert normalize_topic(ligatures) == "fi" * MAX_TOPIC_CHARS
    with pytest.raises(ValueError, match=f"{MAX_TOPIC_BYTES} bytes"):
        normalize_topic("\ufdfa" * MAX_TOPIC_CHARS)  # 18 Arabic letters each once folded: no DynamoDB key


def test_tags_fold_the_same_way_but_are_never_refused() -> None:
    assert fold_text("  ") == ""
    assert fold_text("Morning  Routine") == "morning routine"
    assert fold_text("x" * 500) == "x" * 500


def test_full_width_and_compatibility_forms_fold_to_one_topic() -> None:
    assert normalize_topic("ｃｏｏｋｉｎｇ") == "cooking"
    assert normalize_topic("ＨＯＭＥ\u3000Ｗｏｒｋｏｕｔｓ") == "home workouts"
    assert normalize_topic("Straße") == normalize_topic("STRASSE")  # case folding, not just lower()


@pytest.mark.parametrize("char", ["\u200b", "\ufeff", "\u200d", "\u2060", "\u00ad", "\u202e", "\U000e0041", "\x00"])
def test_invisible_format_and_control_characters_are_refused(char: str) -> None:
    with pytest.raises(ValueError, match=f"U\\+{ord(char):04X}"):
        normalize_topic(f"cooking{char}")


def test_the_format_ranges_are_exactly_unicode_category_cf() -> None:
    listed = {code for low, high in FORMAT_CHARACTER_RANGES for code in range(low, high + 1)}
    assert listed == {code for code in range(0x110000) if unicodedata.category(chr(code)) == "Cf"}


def test_the_api_pattern_refuses_what_the_rule_refuses() -> None:
    for low, high in FORMAT_CHARACTER_RANGES:
        for code in (low, high):
            assert re.fullmatch(TOPIC_PATTERN, f"cooking{chr(code)}") is None
    assert re.fullmatch(TOPIC_PATTERN, "ｃｏｏｋｉｎｇ 🍳") is not None


def test_one_digest_of_the_canonical_topic() -> None:
    digest = topic_digest(normalize_topic("Cooking"))
    assert digest == topic_digest(normalize_topic("ｃｏｏｋｉｎｇ"))
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert digest != topic_digest(normalize_topic("baking"))
