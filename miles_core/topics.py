"""What a topic is: the one rule that turns what a person typed into the key of a leaderboard.

A topic names a leaderboard (``TOPIC#<topic>`` in the store), a scrape job's search, its dedupe
slot and a recommendation's cache key. They must agree on it, or a recommendation would look for
candidates under a different name than the scrape that collected them. So a :data:`Topic` is made
once, where text enters Miles (the API's request models, the queue message parser, the configured
niches), by :func:`normalize_topic`, and every layer below takes a ``Topic`` and never folds again:
mypy refuses a plain ``str`` where a ``Topic`` is expected.

Folding: NFKC (full-width ``ｃｏｏｋｉｎｇ`` is ``cooking``), case folding, whitespace collapsed.
Refused: format characters (Unicode category Cf: zero-width spaces and joiners, the byte order mark,
the bidirectional controls), control characters other than whitespace, and lone surrogates. They
are invisible, so ``cooking\\u200b`` would be a second leaderboard and a second scrape job that
looks exactly like ``cooking``.

Tags are compared with the same folding (:func:`fold_text`) but are free text: they are never
validated or bounded like a topic.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import NewType

MAX_TOPIC_CHARS = 80
"""Longest topic as typed (trimmed and single-spaced): the API field's ``maxLength``."""
MAX_TOPIC_BYTES = 1024
"""Longest folded topic in UTF-8 bytes: it is part of DynamoDB keys (2048 bytes at most). NFKC may
lengthen text (``ﬁ`` -> ``fi``, U+FDFA -> 18 characters), so the typed length alone does not bound it;
only text made mostly of such ligatures reaches this."""

Topic = NewType("Topic", str)
"""A canonical topic: only :func:`normalize_topic` makes one from outside text (the store reads back
the ones it was given)."""

FORMAT_CHARACTER_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)
"""Unicode category Cf (Unicode 14, Python 3.11) as ranges, spelled out for the API's regular
expressions (enumerating the category at import would cost a cold start a tenth of a second)."""

_REFUSED_CATEGORIES = {"Cf": "a format (invisible) character", "Cs": "a lone surrogate", "Cc": "a control character"}


def fold_text(text: str) -> str:
    """NFKC, case-folded, single-spaced, trimmed: ``"  Home   ＷＯＲＫＯＵＴＳ "`` -> ``"home workouts"``."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def _refuse_invisible(topic: str) -> None:
    for char in topic:
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES and not char.isspace():
            raise ValueError(f"topic must not contain {_REFUSED_CATEGORIES[category]} (U+{ord(char):04X})")


def normalize_topic(topic: str) -> Topic:
    """The canonical topic (:func:`fold_text`) of a non-empty topic of at most :data:`MAX_TOPIC_CHARS`.

    The length counts the topic as typed (trimmed, single-spaced), the way the API field states it, so
    a value the OpenAPI document allows is not refused because folding lengthened it. Raises
    ``ValueError`` (naming the rule and the character) for an empty or too long topic, or one holding
    a format, control or surrogate character, so an API can answer 422.
    """
    _refuse_invisible(topic)
    typed = " ".join(topic.split())
    if not typed:
        raise ValueError("topic must not be empty")
    if len(typed) > MAX_TOPIC_CHARS:
        raise ValueError(f"topic must be at most {MAX_TOPIC_CHARS} characters")
    normalized = fold_text(typed)
    if len(normalized.encode("utf-8")) > MAX_TOPIC_BYTES:
        raise ValueError(f"topic must be at most {MAX_TOPIC_BYTES} bytes once folded")
    return Topic(normalized)


def topic_digest(topic: Topic) -> str:
    """16 hex characters of the topic's sha256: a topic inside an id or cache key of bounded length."""
    return hashlib.sha256(topic.encode("utf-8")).hexdigest()[:16]
