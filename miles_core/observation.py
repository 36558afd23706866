"""The canonical observation: what a caller, the scraper or the benchmark knows about one video.

Every source (the HTTP API, yt-dlp, the YouTube Data API, the benchmark CSV, Miles' own snapshots)
maps into :class:`Observation`, and the feature pipeline only ever sees this model. That is what
keeps training and serving from drifting apart: there is exactly one shape to turn into features.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_TITLE_CHARS = 300
MAX_DESCRIPTION_CHARS = 5000
MAX_TAGS = 100
MAX_TAG_CHARS = 100

NonNegativeCount = Annotated[int, Field(ge=0, le=10**13)]


class Regime(StrEnum):
    """Which of the model's two regimes an observation falls into."""

    PRE_PUBLISH = "pre_publish"
    """An idea or a brand-new upload: text, category, timing, channel only; no counts, no age."""
    POST_PUBLISH = "post_publish"
    """A published video whose early stats (views at a known age) are known."""


class Observation(BaseModel):
    """One video (or video idea) as seen at one moment.

    Counts are optional: an observation without ``view_count`` is a pre-publish observation.
    Timestamps are timezone-aware UTC; naive datetimes are rejected rather than guessed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, description="Video title.")
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    tags: tuple[Annotated[str, Field(max_length=MAX_TAG_CHARS)], ...] = Field(default=(), max_length=MAX_TAGS)
    category_id: int | None = Field(default=None, ge=1, le=99, description="YouTube category id.")
    language: str | None = Field(default=None, max_length=20, description="Default audio language (BCP-47).")
    channel_id: str | None = Field(default=None, max_length=64)
    channel_title: str | None = Field(default=None, max_length=200)
    video_id: str | None = Field(default=None, max_length=64)
    published_at: datetime | None = None
    observed_at: datetime | None = None
    age_hours: float | None = Field(default=None, ge=0, le=24 * 365 * 30)
    duration_seconds: float | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    view_count: NonNegativeCount | None = None
    like_count: NonNegativeCount | None = None
    comment_count: NonNegativeCount | None = None
    channel_follower_count: NonNegativeCount | None = None
    thumbnail_url: str | None = Field(default=None, max_length=2000)

    @field_validator("published_at", "observed_at")
    @classmethod
    def _require_timezone(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamp needs a timezone, e.g. 2026-05-01T12:00:00Z")
        return value.astimezone(UTC) if value is not None else None

    @field_validator("tags")
    @classmethod
    def _drop_blank_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(tag.strip() for tag in value if tag.strip())

    @model_validator(mode="after")
    def _derive_age(self) -> Self:
        """Derive ``age_hours`` from the two timestamps when it was not given explicitly."""
        if self.age_hours is None and self.published_at is not None and self.observed_at is not None:
            age = (self.observed_at - self.published_at).total_seconds() / 3600.0
            if age < 0:
                raise ValueError("observed_at is before published_at")
            object.__setattr__(self, "age_hours", age)
        return self

    @property
    def regime(self) -> Regime:
        """Post-publish when views and the age they were reached at are both known."""
        if self.view_count is not None and self.age_hours is not None:
            return Regime.POST_PUBLISH
        return Regime.PRE_PUBLISH

    def as_pre_publish(self) -> Observation:
        """The same video as an idea: counts, age and observation time removed.

        Used to measure and train the pre-publish regime on real published videos.
        """
        return self.model_copy(
            update={
                "view_count": None,
                "like_count": None,
                "comment_count": None,
                "age_hours": None,
                "observed_at": None,
            }
        )
