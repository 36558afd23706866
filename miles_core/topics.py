"""What a topic is: the one rule that turns what a person typed into the key of a leaderboard.

A topic names a leaderboard (``TOPIC#<topic>`` in the store), a scrape job's search, and a
recommendation's cache key. They must agree on it, or a recommendation would look for candidates
under a different name than the scrape that collected them, so every one of them calls
:func:`normalize_topic`. Tags are compared with the same folding (:func:`fold_text`) but are free
text: they are never validated or bounded like a topic.
"""

from __future__ import annotations

MAX_TOPIC_CHARS = 80
"""Longest topic (after folding): it is part of a DynamoDB key and an API field."""


def fold_text(text: str) -> str:
    """Single-spaced, trimmed, lower case: ``"  Home   WORKOUTS "`` -> ``"home workouts"``."""
    return " ".join(text.split()).lower()


def normalize_topic(topic: str) -> str:
    """The canonical topic: :func:`fold_text`, then non-empty and at most :data:`MAX_TOPIC_CHARS`.

    Raises ``ValueError`` (naming the rule) for an empty or too long topic, so an API can answer 422.
    """
    normalized = fold_text(topic)
    if not normalized:
        raise ValueError("topic must not be empty")
    if len(normalized) > MAX_TOPIC_CHARS:
        raise ValueError(f"topic must be at most {MAX_TOPIC_CHARS} characters")
    return normalized
