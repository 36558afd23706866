"""The training population, measured from the training rows: what ``coverage`` compares an answer with, and
what ``GET /model`` tells a creator the model learned from.

Every number here is computed from the benchmark's train split
(:func:`miles_core.training.population_fit.describe_split`: ``miles train`` writes it as ``population.json``
beside the head; the export copies it into the serving artifact), never typed in by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from miles_core.features.text import words

POPULATION_FILE = "population.json"
SHORT_MAX_SECONDS = 60.0
"""A video of 60 s or less is a Short, whatever its shape."""
POSSIBLE_SHORT_MAX_SECONDS = 180.0
"""YouTube has counted vertical videos of up to 3 minutes as Shorts since October 2024 (before the chart data
starts), so a video of 60-180 s may be one; the chart itself leaves Shorts out."""
ENGLISH_CUTOFF_QUANTILE = 0.02
"""A title whose probability of being English is below this share of training titles' reads as another language.

Chosen with ``python -m infra.studies.language_id`` (train quantile -> share of val's English-audio titles
called another language / of fresh non-English-audio uploads caught): 1 % -> 0.8 % / 64.7 %, 2 % -> 1.5 % /
68.6 % (romanized Hindi, Spanish and French titles with English names in them), 3 % -> 2.9 % / 70.1 %,
5 % -> 7.3 % / 72.1 %. Past 2 % each further catch costs more English titles than it gains."""
HASHTAG = re.compile(r"#[^\W_]+")
SOURCE = (
    "YouTube Data API v3 videos.list(chart=mostPopular): the daily Most Popular chart, collected by the public "
    "project gpsyrou/tube-virality"
)


class Span(BaseModel):
    """Where most training values lie: the 1st and 99th percentiles, and the extremes."""

    model_config = ConfigDict(frozen=True)

    minimum: float
    p01: float
    median: float
    p99: float
    maximum: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Span:
        array = np.asarray(list(values), dtype=np.float64)
        low, p01, median, p99, high = np.quantile(array, [0.0, 0.01, 0.5, 0.99, 1.0])
        return cls(
            minimum=round(float(low), 6),
            p01=round(float(p01), 6),
            median=round(float(median), 6),
            p99=round(float(p99), 6),
            maximum=round(float(high), 6),
        )


class TrainingPopulation(BaseModel):
    """Who the model learned from (the train split), in numbers and in one paragraph a creator can read."""

    model_config = ConfigDict(frozen=True)

    summary: str = Field(description="The population in words a creator reads.")
    source: str = Field(description="Where every training row comes from.")
    videos: int = Field(ge=0, description="Training videos.")
    channels: int = Field(ge=0, description="Distinct channels among them.")
    first_charted: str = Field(description="Date (UTC) of the earliest training video's first chart entry.")
    last_charted: str = Field(description="Date (UTC) of the latest training video's first chart entry.")
    regions: dict[str, int] = Field(description="Chart region -> training videos first seen there.")
    audio_languages: dict[str, int] = Field(description="Declared audio language -> training videos.")
    known_durations: int = Field(ge=0, description="Training videos whose length is known.")
    shorts: int = Field(ge=0, description="Training videos known to be 60 s or shorter (Shorts).")
    up_to_three_minutes: int = Field(ge=0, description="Training videos known to be 3 minutes or shorter.")
    videos_with_format_markers: int = Field(
        ge=0, description="Training videos with a format marker (#shorts, #viral...) in title, tags or description."
    )
    views_when_charted: Span = Field(description="Views at the first chart entry (a proxy of channel size).")
    videos_per_channel: Span
    title_chars: Span = Field(description="Title length in characters, format markers removed.")
    title_words: Span = Field(description="Words per title, format markers removed.")
    hashtags_per_word: Span = Field(description="Title hashtags per word, format markers removed.")
    english_probability: Span = Field(description="The language identifier's probability that a title is English.")
    english_cutoff: float = Field(
        ge=0,
        le=1,
        description="Titles less likely English than this (the training titles' 2nd percentile) read as another "
        "language.",
    )

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TrainingPopulation:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


def hashtags_per_word(title: str) -> float:
    """Hashtags per word of a title (0 for a title without words)."""
    count = len(words(title))
    return len(HASHTAG.findall(title)) / count if count else 0.0
