"""The field types every Miles request model is built from: one definition of a strict string and integer.

Why one place: predict, scrape and recommend sit behind one API, and a client must not find that
``"5"`` is a count on one route and an error on another, or that a topic with a right-to-left
override is refused by one function and stored (then echoed to other clients) by the next.

The rules, enforced by pydantic *and* written into the OpenAPI document with the same regular
expression (so a generated "valid" value is always accepted, and a value the document forbids is
always refused):

* integers are JSON integers: ``"5"``, ``true`` and ``5.0`` are refused, not coerced;
* strings are JSON strings, bounded, and free of control characters (C0, DEL, C1) and of the
  bidirectional formatting characters that reorder how text is displayed; single-line text must
  hold at least one non-space character and is trimmed after validation;
* a topic also refuses every format character (Unicode category Cf: zero-width spaces and joiners,
  the byte order mark), then is folded by :func:`miles_core.topics.normalize_topic` (the one topic
  rule) into a :data:`~miles_core.topics.Topic` before a handler sees it, so what is stored, deduplicated
  and echoed is the canonical form.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from miles_core.topics import FORMAT_CHARACTER_RANGES, MAX_TOPIC_CHARS, Topic, normalize_topic

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Arabic letter mark, LRM/RLM, the embeddings/overrides (U+202A-E) and the isolates (U+2066-9)."""
_CONTROLS = "\x00-\x1f\x7f-\x9f" + BIDI_CONTROLS
_LINE_BREAKS = "\t\n\r"
_SPACES = " \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What ``str.strip``/``str.split`` remove besides the C0/C1 controls: a value of only these is empty."""

SINGLE_LINE_PATTERN = f"^[^{_CONTROLS}]*[^{_CONTROLS}{_SPACES}][^{_CONTROLS}]*$"
"""No control or bidi character, at least one visible character (literal characters, so every regex
engine - pydantic's, Python's, a browser's - reads the class the same way)."""
URL_PATTERN = f"^https?://[^{_CONTROLS}{_SPACES}]+$"
"""An http(s) URL without spaces or controls, spelled out: ``\\S`` means different characters to Python,
Rust (pydantic) and ECMAScript (JSON Schema tools), e.g. U+0085 is a space to the first two only."""
_TEXT_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + BIDI_CONTROLS
MULTI_LINE_PATTERN = f"^[^{_TEXT_CONTROLS}]*$"
"""Free text (descriptions): tabs and line breaks allowed, other controls and bidi characters not."""


def _character_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """Ranges of the BMP as ranges, astral code points one by one: an ECMAScript pattern without the
    ``u`` flag reads an astral character as two surrogates, and a range between two of them is an error."""
    parts = []
    for low, high in ranges:
        if high <= 0xFFFF:
            parts.append(chr(low) if low == high else f"{chr(low)}-{chr(high)}")
        else:
            parts.extend(chr(code) for code in range(low, high + 1))
    return "".join(parts)


_FORMAT = _character_class(FORMAT_CHARACTER_RANGES)
_TOPIC_REFUSED = _CONTROLS + _FORMAT
TOPIC_PATTERN = f"^[^{_TOPIC_REFUSED}]*[^{_TOPIC_REFUSED}{_SPACES}][^{_TOPIC_REFUSED}]*$"
""":data:`SINGLE_LINE_PATTERN` without any format character (Cf): a topic is a key, and an invisible
character would make a second key that looks like the first. Titles keep them (emoji use U+200D)."""


def _trim(value: str) -> str:
    return value.strip()


def single_line(max_length: int, description: str, *, min_length: int = 1, pattern: str = SINGLE_LINE_PATTERN) -> Any:
    """``Annotated`` metadata for a trimmed one-line string of ``min_length``-``max_length`` characters."""
    return Field(min_length=min_length, max_length=max_length, pattern=pattern, strict=True, description=description)


def text(max_length: int, description: str) -> Any:
    """``Annotated`` metadata for free text (may be empty, may hold line breaks), at most ``max_length`` characters."""
    return Field(max_length=max_length, pattern=MULTI_LINE_PATTERN, strict=True, description=description)


def integer(minimum: int, maximum: int, description: str | None = None) -> Any:
    """``Annotated`` metadata for a JSON integer in ``[minimum, maximum]`` (no strings, booleans or floats)."""
    return Field(ge=minimum, le=maximum, strict=True, description=description)


Trimmed = AfterValidator(_trim)
"""Applied after the raw value passed the length and pattern checks (which the document states)."""

TopicField = Annotated[
    Topic,
    single_line(
        MAX_TOPIC_CHARS,
        f"Topic (niche, search query), 1-{MAX_TOPIC_CHARS} characters, no control, bidirectional or other "
        "format (invisible) characters. Stored and answered in canonical form: NFKC, case-folded, trimmed, "
        "single-spaced.",
        pattern=TOPIC_PATTERN,
    ),
    AfterValidator(normalize_topic),
]
"""A user topic: validated raw, then the canonical :data:`~miles_core.topics.Topic`."""
