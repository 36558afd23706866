"""Measure the training population from benchmark rows: ``population.json`` (:mod:`miles_core.coverage.population`).

Here, not beside the model of it, because it reads the benchmark CSV (``miles_core.dataset``), which the
serving images do not carry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from miles_core.coverage.language_id import guess_language
from miles_core.coverage.population import (
    ENGLISH_CUTOFF_QUANTILE,
    POSSIBLE_SHORT_MAX_SECONDS,
    SHORT_MAX_SECONDS,
    SOURCE,
    Span,
    TrainingPopulation,
    hashtags_per_word,
)
from miles_core.dataset import iter_csv_rows, row_to_observation
from miles_core.features.format_markers import model_text
from miles_core.features.text import words
from miles_core.observation import Observation


def _summary(videos: int, channels: int, first: str, last: str, regions: Counter[str], views: Span) -> str:
    places = ", ".join(regions)
    return (
        f"Miles learned from {videos:,} videos of {channels:,} channels that reached YouTube's daily Most Popular "
        f"chart in {places} between {first} and {last}: long-form videos with English audio (the chart leaves "
        f"Shorts out), mostly from large channels, with a median of {views.median:,.0f} views when they first "
        "charted. Its scores compare a video with those; for a Short, a title in another language or a small "
        "channel's typical upload it can only extrapolate, and each answer's `coverage` says so."
    )


def _readable(rows: Iterable[Mapping[str, str]]) -> list[tuple[Mapping[str, str], Observation]]:
    """Rows that map to an observation (the ones training can use; the others it skips and logs)."""
    pairs = []
    for row in rows:
        try:
            pairs.append((row, row_to_observation(dict(row))))
        except ValueError:
            continue
    return pairs


def describe_split(data: Path | Sequence[Path], split: str) -> TrainingPopulation:
    """The population of one split of benchmark-schema CSVs (``miles train`` describes its train split)."""
    files = [data] if isinstance(data, Path) else list(data)
    return describe_population(row for path in files for row in iter_csv_rows(path) if row.get("split") == split)


def describe_population(rows: Iterable[Mapping[str, str]]) -> TrainingPopulation:
    """Measure the population of benchmark-schema rows (the train split's raw CSV rows)."""
    pairs = _readable(rows)
    if not pairs:
        raise ValueError("no training rows to describe")
    rows = [row for row, _ in pairs]
    observations = [observation for _, observation in pairs]
    texts = [model_text(obs).title for obs in observations]
    regions = Counter(row["country"] for row in rows if row.get("country"))
    languages = Counter((obs.language or "unknown").split("-")[0].lower() for obs in observations)
    durations = [obs.duration_seconds for obs in observations if obs.duration_seconds is not None]
    channels = Counter(obs.channel_id or "" for obs in observations)
    views = Span.of(float(obs.view_count or 0) for obs in observations)
    charted = sorted(row["observed_at"][:10] for row in rows)
    english = [guess_language(text).english_probability for text in texts]
    return TrainingPopulation(
        summary=_summary(len(rows), len(channels), charted[0], charted[-1], regions, views),
        source=SOURCE,
        videos=len(rows),
        channels=len(channels),
        first_charted=charted[0],
        last_charted=charted[-1],
        regions=dict(regions.most_common()),
        audio_languages=dict(languages.most_common()),
        known_durations=len(durations),
        shorts=sum(d <= SHORT_MAX_SECONDS for d in durations),
        up_to_three_minutes=sum(d <= POSSIBLE_SHORT_MAX_SECONDS for d in durations),
        videos_with_format_markers=sum(bool(model_text(obs).markers) for obs in observations),
        views_when_charted=views,
        videos_per_channel=Span.of(channels.values()),
        title_chars=Span.of(len(text) for text in texts),
        title_words=Span.of(len(words(text)) for text in texts),
        hashtags_per_word=Span.of(hashtags_per_word(text) for text in texts),
        english_probability=Span.of(english),
        english_cutoff=round(float(np.quantile(english, ENGLISH_CUTOFF_QUANTILE)), 6),
    )
