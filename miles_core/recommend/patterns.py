"""Trend patterns of a topic, computed from its top-scored recent candidates.

Pure functions of the candidate list: no randomness, no clock, ties broken by text/hour, floats
rounded, so the same candidates always give the same patterns (the fallback generator and the
cache rely on that). The patterns are returned to the caller too, so a creator can see *why* the
ideas look the way they do.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from miles_core.topics import fold_text


class Candidate(BaseModel):
    """A recent, already-scored real video of a topic, as the recommender needs it.

    Titles, tags and channel names are scraped, untrusted text: they are only ever *data*.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    video_id: str
    title: str
    tags: tuple[str, ...] = ()
    duration_seconds: float | None = None
    published_at: datetime | None = None
    viral_probability: float | None = None
    predicted_velocity_views_per_hour: float | None = None
    channel_id: str | None = None
    channel_title: str | None = None
    category_id: int | None = None
    view_count: int | None = None
    observed_at: datetime | None = None
    """When ``view_count`` was observed."""
    text_embedding: bytes | None = Field(default=None, exclude=True, repr=False)
    """The model's stored embedding of the video's text (``miles_core.relevance``); never serialised."""
    relevance: float | None = None
    """Cosine of the video's embedding with the topic's; set when the recommender measured it."""


class CountShare(BaseModel):
    """One frequent item: how many analyzed titles contain it and which share that is."""

    text: str
    count: int
    share: float


class Distribution(BaseModel):
    """Robust summary of a numeric property (quartiles; ``None`` when nothing was measured)."""

    n: int
    median: float | None
    p25: float | None
    p75: float | None


class HourCount(BaseModel):
    hour_utc: int
    count: int


class Patterns(BaseModel):
    """What the topic's top-scored recent candidates have in common, computed from data only."""

    candidates_analyzed: int
    top_words: list[CountShare]
    top_phrases: list[CountShare]
    top_tags: list[CountShare]
    title_chars: Distribution
    title_words: Distribution
    duration_seconds: Distribution
    posting_hours_utc: list[HourCount] = Field(
        description="When the analyzed videos were published (observed, most frequent first). Each idea's one "
        "suggested time is its `best_posting_time`, from the model's scan of the week."
    )
    hooks: dict[str, float] = Field(description="Share of titles using each hook: number, question, emoji, ...")
    style: dict[str, float] = Field(description="Share of titles with each style trait: all-caps word, ...")
    dominant_category_id: int | None


TOP_WORDS = 12
TOP_PHRASES = 8
TOP_TAGS = 10
TOP_HOURS = 5
MIN_PHRASE_COUNT = 2
"""A phrase seen in a single title is that title, not a pattern."""


def _wordset(text: str) -> frozenset[str]:
    """Whitespace-separated word list -> set (long lists read better as text)."""
    return frozenset(text.split())


STOPWORDS = _wordset(
    """
    a an and are as at be but by can do does for from has have he her his how i if in into is it its
    just me my no not of on or our out so that the their them then there these they this to too up us
    was we were what when where which who why will with you your yours vs via than i'm it's don't shorts
    short youtube video videos new
    """
)
"""Function words plus platform boilerplate: frequent everywhere, so they say nothing about a topic."""

QUESTION_STARTS = _wordset(
    """
    how why what who when where which can do does did is are would should will could
    """
)
SUPERLATIVES = _wordset(
    """
    best worst most least fastest biggest easiest hardest ever never only secret
    """
)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_DIGIT = re.compile(r"\d")


def words(text: str) -> list[str]:
    """Case-folded word tokens (letters/digits, inner apostrophes kept)."""
    return [w.replace("’", "'") for w in _WORD.findall(text.casefold())]


def is_emoji(char: str) -> bool:
    """Pictographic symbol (emoji blocks, dingbats, misc symbols)."""
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2B00 <= code <= 0x2BFF
        or (unicodedata.category(char) == "So" and code > 0x2000)
    )


def has_emoji(text: str) -> bool:
    return any(is_emoji(ch) for ch in text)


def _is_question(title: str) -> bool:
    tokens = words(title)
    return "?" in title or (bool(tokens) and tokens[0] in QUESTION_STARTS)


def _has_all_caps_word(title: str) -> bool:
    return any(len(w) >= 2 and w.isalpha() and w.isupper() for w in re.findall(r"[^\W\d_]+", title))


def _is_title_case(title: str) -> bool:
    lettered = [w for w in title.split() if any(ch.isalpha() for ch in w)]
    if len(lettered) < 2:
        return False
    capitalized = sum(1 for w in lettered if next(ch for ch in w if ch.isalpha()).isupper())
    return capitalized / len(lettered) >= 0.8


HOOKS: dict[str, Callable[[str], bool]] = {
    "number": lambda t: bool(_DIGIT.search(t)),
    "question": _is_question,
    "emoji": has_emoji,
    "how_to": lambda t: "how to" in " ".join(words(t)),
    "pov": lambda t: "pov" in words(t),
    "you": lambda t: bool({"you", "your", "you're"} & set(words(t))),
    "superlative": lambda t: bool(SUPERLATIVES & set(words(t))),
    "challenge": lambda t: "challenge" in words(t),
}
"""Attention hooks measured on titles; the fallback generator uses the same names."""

STYLES: dict[str, Callable[[str], bool]] = {
    "all_caps_word": _has_all_caps_word,
    "title_case": _is_title_case,
    "exclamation": lambda t: "!" in t,
    "hashtag": lambda t: "#" in t,
    "brackets": lambda t: bool(re.search(r"[\(\[\|]", t)),
    "all_lowercase": lambda t: any(ch.isalpha() for ch in t) and t == t.lower(),
}


def _share(count: int, total: int) -> float:
    return round(count / total, 3) if total else 0.0


def _distribution(values: Sequence[float]) -> Distribution:
    if not values:
        return Distribution(n=0, median=None, p25=None, p75=None)
    ordered = sorted(values)
    if len(ordered) == 1:
        only = round(float(ordered[0]), 1)
        return Distribution(n=1, median=only, p25=only, p75=only)
    p25, median, p75 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Distribution(n=len(ordered), median=round(median, 1), p25=round(p25, 1), p75=round(p75, 1))


def _top(counter: Counter[str], total: int, limit: int, min_count: int = 1) -> list[CountShare]:
    """Most frequent first; equal counts in alphabetical order (deterministic)."""
    ranked = sorted((item for item in counter.items() if item[1] >= min_count), key=lambda kv: (-kv[1], kv[0]))
    return [CountShare(text=text, count=count, share=_share(count, total)) for text, count in ranked[:limit]]


def _document_frequency(items_per_doc: Iterable[Iterable[str]]) -> Counter[str]:
    counter: Counter[str] = Counter()
    for items in items_per_doc:
        counter.update(set(items))
    return counter


def _content_words(title: str) -> list[str]:
    return [w for w in words(title) if w not in STOPWORDS and len(w) >= 2 and not w.isdigit()]


def _phrases(title: str) -> list[str]:
    """Word 2- and 3-grams that start and end with a content word (so 'of the' never counts)."""
    tokens = words(title)
    grams: list[str] = []
    for size in (2, 3):
        for start in range(len(tokens) - size + 1):
            gram = tokens[start : start + size]
            if gram[0] in STOPWORDS or gram[-1] in STOPWORDS or gram[0].isdigit() or gram[-1].isdigit():
                continue
            grams.append(" ".join(gram))
    return grams


def extract_patterns(candidates: Sequence[Candidate]) -> Patterns:
    """Patterns of ``candidates`` (already the topic's top-scored recent videos)."""
    titles = [c.title for c in candidates]
    total = len(titles)
    hours = Counter(c.published_at.astimezone(UTC).hour for c in candidates if c.published_at is not None)
    ranked_hours = sorted(hours.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_HOURS]
    categories = Counter(c.category_id for c in candidates if c.category_id is not None)
    dominant_category = min(categories.items(), key=lambda kv: (-kv[1], kv[0]))[0] if categories else None
    return Patterns(
        candidates_analyzed=total,
        top_words=_top(_document_frequency(_content_words(t) for t in titles), total, TOP_WORDS),
        top_phrases=_top(_document_frequency(_phrases(t) for t in titles), total, TOP_PHRASES, MIN_PHRASE_COUNT),
        top_tags=_top(
            _document_frequency({fold_text(tag) for tag in c.tags if tag.strip()} for c in candidates),
            total,
            TOP_TAGS,
        ),
        title_chars=_distribution([float(len(t)) for t in titles]),
        title_words=_distribution([float(len(t.split())) for t in titles]),
        duration_seconds=_distribution([c.duration_seconds for c in candidates if c.duration_seconds is not None]),
        posting_hours_utc=[HourCount(hour_utc=h, count=n) for h, n in ranked_hours],
        hooks={name: _share(sum(1 for t in titles if test(t)), total) for name, test in HOOKS.items()},
        style={name: _share(sum(1 for t in titles if test(t)), total) for name, test in STYLES.items()},
        dominant_category_id=dominant_category,
    )
