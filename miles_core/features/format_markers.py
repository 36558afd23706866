"""Format markers: hashtags that name a platform or a format, never a topic. The one list, the one rule.

``#shorts`` says where a video is shown, not what it is about, and the model never saw it: YouTube's Most
Popular chart, where every training row comes from, excludes Shorts (0 of the 5,578 dev titles contain
"#shorts"). Left in, such a tag moved an idea's miles_score from 37.5 to 1.1 through the encoder and the
title statistics. So the feature pipeline reads every text field (title, tags, description) through
:func:`model_text`, which takes the markers out, and the answer reports them as ``format_markers``
instead. Other hashtags keep their ``#`` (the choice and its val numbers: ``infra/studies/hashtags.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from miles_core.observation import Observation

FORMAT_MARKERS = (
    "shorts",
    "short",
    "ytshorts",
    "youtubeshorts",
    "shortsvideo",
    "shortvideo",
    "shortsfeed",
    "shortsviral",
    "viralshorts",
    "trendingshorts",
    "fyp",
    "fypシ",
    "foryou",
    "foryoupage",
    "viral",
    "viralvideo",
    "trending",
    "reels",
    "reel",
    "instareels",
    "tiktok",
    "explore",
    "explorepage",
)
"""Platform and format hashtags (without ``#``, lower case): where a video is shown, never what it is about."""

_MARKER_SET = frozenset(FORMAT_MARKERS)
_MARKER = re.compile(
    r"[ \t]*#(" + "|".join(sorted(map(re.escape, FORMAT_MARKERS), key=len, reverse=True)) + r")(?![\w#])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ModelText:
    """The text fields the model reads, format markers removed, and the markers that were found."""

    title: str
    tags: tuple[str, ...]
    description: str
    markers: tuple[str, ...]
    """``#marker`` in lower case, each once, in order of appearance (title, tags, description)."""


def _strip(text: str, found: list[str]) -> str:
    """``text`` without its markers (each with the spaces before it), the ends trimmed; the rest untouched."""
    if "#" not in text:
        return text
    found.extend(f"#{match.lower()}" for match in _MARKER.findall(text))
    return _MARKER.sub("", text).strip()


def _tag_marker(tag: str) -> str | None:
    """A whole tag that is a marker ("shorts", "#Shorts", "YT Shorts"), as ``#marker``; else None."""
    folded = tag.casefold().removeprefix("#").replace(" ", "")
    return f"#{folded}" if folded in _MARKER_SET else None


@lru_cache(maxsize=4096)
def _model_text(title: str, tags: tuple[str, ...], description: str) -> ModelText:
    found: list[str] = []
    clean_title = _strip(title, found)
    clean_tags: list[str] = []
    for tag in tags:
        marker = _tag_marker(tag)
        if marker is not None:
            found.append(marker)
            continue
        cleaned = _strip(tag, found)
        if cleaned:
            clean_tags.append(cleaned)
    clean_description = _strip(description, found)
    return ModelText(clean_title, tuple(clean_tags), clean_description, tuple(dict.fromkeys(found)))


def model_text(observation: Observation) -> ModelText:
    """What the model reads of an observation's text: every field without its format markers.

    Cached (the pipeline asks once per field group of the same observation; text is immutable).
    """
    return _model_text(observation.title, observation.tags, observation.description)


def format_markers(observation: Observation) -> list[str]:
    """The format markers of an observation (title, tags, description), as reported in an answer."""
    return list(model_text(observation).markers)
