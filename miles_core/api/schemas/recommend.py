"""Request and response bodies of ``POST /recommendations`` (the response is also what is cached).

Unknown request fields are rejected (typos must not be ignored); the ideas and patterns inside the
response are the domain types of :mod:`miles_core.recommend.ideas` and :mod:`miles_core.recommend.patterns`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from miles_core.api.fields import TopicField, integer
from miles_core.recommend.ideas import DEFAULT_COUNT, MAX_COUNT, MIN_COUNT, Generator, ScoredIdea, Vibe
from miles_core.recommend.patterns import Patterns
from miles_core.relevance import EvidenceLevel


class RecommendationRequest(BaseModel):
    """Body of ``POST /recommendations``. Unknown fields are rejected (typos must not be ignored).

    Field types are the API's shared strict ones (:mod:`miles_core.api.fields`): ``count`` is a JSON
    integer, ``topic`` is refused with control or bidirectional characters and arrives canonical.
    """

    model_config = ConfigDict(extra="forbid")

    topic: TopicField = Field(examples=["home workouts"])
    vibe: Vibe = Field(default=Vibe.EDUCATIONAL, description="Tone of the ideas.")
    count: Annotated[int, integer(MIN_COUNT, MAX_COUNT)] = Field(
        default=DEFAULT_COUNT, description=f"How many ideas to return ({MIN_COUNT}-{MAX_COUNT})."
    )


class InspiredBy(BaseModel):
    """A real video the ideas were derived from (shown so the creator can judge the inspiration).

    Only videos about the topic (relevance at or above ``miles_core.relevance.RELEVANCE_THRESHOLD``).
    """

    video_id: str
    title: str
    relevance: float = Field(description="Cosine of the video's text embedding with the topic's (model encoder).")
    channel_title: str | None
    viral_probability: float | None
    predicted_velocity_views_per_hour: float | None
    published_at: datetime | None
    duration_seconds: float | None
    url: str
    view_count: int | None = Field(description="Views at Miles' latest observation.")
    age_hours: float | None = Field(description="Hours between publishing and Miles' latest observation.")
    views_per_hour: float | None = Field(
        description="Views gained per hour between the first and the latest snapshot Miles stored (None with one)."
    )
    snapshots: int = Field(ge=0, description="How many snapshots of the video Miles stored.")
    channel_videos: int = Field(
        ge=1, description="Videos of the same channel among the topic's stored videos (this one included)."
    )
    channel_multiple: float | None = Field(
        description="Lifetime views per hour over the median of the channel's stored videos; only with 3 or more."
    )


class Evidence(BaseModel):
    """How much the recommendation stands on: stored videos about the topic."""

    relevant_videos: int = Field(ge=0, description="Stored videos of the topic whose relevance passed the threshold.")
    videos_checked: int = Field(ge=0, description="Stored videos of the topic whose relevance was measured.")
    level: EvidenceLevel = Field(description="none (0 relevant videos: generic ideas), thin (1-4) or good (5+).")
    relevance_threshold: float = Field(description="Cosine with the topic at or above which a video counts.")
    summary: str = Field(description="The same, in a sentence for the creator.")


class Meta(BaseModel):
    """How the answer was produced."""

    generator: Generator
    generator_reason: str = Field(description="Why this generator answered, e.g. 'llm_ok', 'no_api_key'.")
    cached: bool
    candidates_analyzed: int
    fresh_candidates: bool = Field(description="False when no candidate of the topic was recent enough.")
    scrape_job_id: str | None = Field(description="Set when a scrape job was requested for the topic.")
    model_version: str
    topic: str
    vibe: Vibe
    count: int
    generated_at: datetime


class RecommendationResponse(BaseModel):
    """Body returned by ``POST /recommendations``; also what is cached."""

    model_config = ConfigDict(extra="forbid")

    ideas: list[ScoredIdea]
    inspired_by: list[InspiredBy]
    evidence: Evidence
    patterns: Patterns
    meta: Meta
