"""Scraped text is untrusted: normalise it before it reaches the store, the model or an LLM prompt.

Control and zero-width/bidi characters are removed (they can hide text from reviewers or break
logs), whitespace is collapsed where it carries no meaning, and every field is cut to the limits the
canonical observation enforces, so a hostile or huge title cannot make a whole batch fail.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from miles_core.observation import MAX_DESCRIPTION_CHARS, MAX_TAG_CHARS, MAX_TAGS, MAX_TITLE_CHARS

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean_text(value: object, max_chars: int, *, single_line: bool = True) -> str:
    """Printable text only, cut to ``max_chars``; non-strings become empty."""
    if not isinstance(value, str):
        return ""
    text = unicodedata.normalize("NFC", value)
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split()) if single_line else text.replace("\t", " ").strip()
    return text[:max_chars].strip()


def clean_title(value: object) -> str:
    return clean_text(value, MAX_TITLE_CHARS)


def clean_description(value: object) -> str:
    return clean_text(value, MAX_DESCRIPTION_CHARS, single_line=False)


def clean_tags(values: Iterable[object] | None) -> tuple[str, ...]:
    tags = (clean_text(v, MAX_TAG_CHARS) for v in (values or ()))
    return tuple(t for t in tags if t)[:MAX_TAGS]


def clean_url(value: object) -> str | None:
    """Only http(s) URLs survive (a ``javascript:`` thumbnail must never reach a client)."""
    text = clean_text(value, 2000)
    return text if text.startswith(("https://", "http://")) else None


def clean_count(value: object) -> int | None:
    """API counts arrive as strings, yt-dlp counts as ints or None; anything else is unknown."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 <= number <= 10**13 else None
