"""Fitted feature statistics, serialisable into the model artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

FEATURE_VERSION = "features-v2"
"""v2: no duration or follower features (see ``pipeline.BASE_FEATURES``)."""


class ChannelPriorValue(NamedTuple):
    """A channel's smoothed mean of log1p(views/hour) and how many videos it rests on."""

    mean_log_velocity: float
    n_videos: int


class ChannelPrior(BaseModel):
    """Who posts is the strongest pre-publish signal: a smoothed per-channel mean log velocity.

    ``value = (sum + smoothing * global_mean) / (count + smoothing)``; unknown channels get the
    global mean with ``n_videos = 0``, which the model also sees as a feature.
    """

    model_config = ConfigDict(frozen=True)

    global_mean: float
    smoothing: float
    table: dict[str, tuple[float, int]] = Field(
        default_factory=dict, description="channel_id -> (sum of log1p velocity, count) on train"
    )

    def lookup(self, channel_id: str | None) -> ChannelPriorValue:
        """The smoothed prior for one channel (global mean when unseen or absent)."""
        if channel_id is None or channel_id not in self.table:
            return ChannelPriorValue(self.global_mean, 0)
        total, count = self.table[channel_id]
        return ChannelPriorValue((total + self.smoothing * self.global_mean) / (count + self.smoothing), count)


class FeatureSpec(BaseModel):
    """Everything the pipeline needs beyond the observation itself. Fitted on train only."""

    model_config = ConfigDict(frozen=True)

    version: str = FEATURE_VERSION
    max_tokens: int = Field(description="Encoder input is truncated to this many tokens.")
    numeric_names: list[str]
    clip_low: list[float]
    clip_high: list[float]
    mean: list[float]
    std: list[float]
    categories: list[int] = Field(description="Category ids with their own one-hot slot; others share one.")
    ngram_buckets: int
    ngram_idf: list[float]
    languages: list[str] = Field(description="Language prefixes the model was trained on, e.g. 'en'.")
    channel_prior: ChannelPrior

    @property
    def n_numeric(self) -> int:
        """Width of the numeric input (scalar features plus category one-hot)."""
        return len(self.numeric_names)

    def save(self, path: Path) -> None:
        """Write the spec as pretty JSON (it is committed with the shipped model)."""
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> FeatureSpec:
        """Read a spec written by :meth:`save`, refusing a different feature version."""
        spec = cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        if spec.version != FEATURE_VERSION:
            raise ValueError(
                f"{path} was built for {spec.version}, this code computes {FEATURE_VERSION}: "
                "retrain or rebuild the model"
            )
        return spec

    def supports_language(self, language: str | None) -> bool:
        """True when the language is unknown (None) or one the model was trained on."""
        if language is None:
            return True
        return language.split("-")[0].lower() in self.languages
