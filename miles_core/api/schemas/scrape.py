"""Request and response schemas of the scrape API (``/scrape/jobs``, ``/scrape/jobs/{job_id}``, ``/candidates``).

They are pydantic models, not the store's dicts, because the one OpenAPI document is generated
from them: every answer has a schema a client (and the contract fuzzer) can check. The store
keeps its own records (:mod:`miles_core.store.records`); ``as_public_dict`` output is validated
into these models, so a field added there without a schema here is dropped, never leaked.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from miles_core.api.fields import TopicField, integer
from miles_core.config import DEFAULT_SCRAPE_MAX_DURATION_SECONDS, DEFAULT_SCRAPE_MAX_RESULTS
from miles_core.store.job_records import JobStatus

MAX_SCRAPE_RESULTS = 50
"""One YouTube search page: a job asking for more would only cost quota."""
MAX_SCRAPE_DURATION_SECONDS = 3600


class ScrapeJobBody(BaseModel):
    """``POST /scrape/jobs`` body. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    topic: TopicField
    max_results: Annotated[int, integer(1, MAX_SCRAPE_RESULTS)] = Field(
        default=DEFAULT_SCRAPE_MAX_RESULTS, description=f"Videos to fetch (integer, 1-{MAX_SCRAPE_RESULTS})."
    )
    max_duration_seconds: Annotated[int, integer(1, MAX_SCRAPE_DURATION_SECONDS)] | None = Field(
        default=DEFAULT_SCRAPE_MAX_DURATION_SECONDS,
        description=f"Longest video kept, seconds (integer, 1-{MAX_SCRAPE_DURATION_SECONDS}); null = any length.",
    )


class ScrapeJobAccepted(BaseModel):
    """``POST /scrape/jobs`` answer (202): where to poll."""

    job_id: str = Field(description="The job's id.")
    status: JobStatus = Field(description="The job's status when answered (`queued`).")
    topic: str = Field(description="The canonical topic the job searches.")
    status_url: str = Field(description="`GET` this path for the job's progress.")


class JobCountsView(BaseModel):
    found: int = Field(description="Videos the sources returned.")
    new: int = Field(description="Videos first seen by this job.")
    updated: int = Field(description="Known videos whose stats were refreshed.")
    failed: int = Field(description="Videos that could not be read or stored.")


class ScrapeJobView(BaseModel):
    """``GET /scrape/jobs/{job_id}`` answer."""

    job_id: str
    status: JobStatus = Field(description="`queued`, `running`, then `succeeded`, `partial` or `failed`.")
    trigger: str = Field(description="Who created the job: `api`, `schedule` or `recommendation`.")
    topic: str
    max_results: int
    max_duration_seconds: int | None
    created_at: str = Field(description="ISO 8601 UTC.")
    updated_at: str = Field(description="ISO 8601 UTC.")
    source: str | None = Field(description="The source that answered (`youtube_api`, `ytdlp`), once run.")
    attempts: int
    counts: JobCountsView
    errors: list[str] = Field(description="Up to 25 error messages.")
    failure_reason: str | None = Field(
        description=(
            "Why the job failed or ended `partial`, in sentences a creator can act on (YouTube blocked the search, "
            "the quota is used up, no videos were found for the topic, the time budget ran out, ...), derived from "
            "what the job recorded; null unless the status is `failed` or `partial`."
        )
    )


class CandidateStats(BaseModel):
    observed_at: str = Field(description="When these counts were read, ISO 8601 UTC.")
    view_count: int | None
    like_count: int | None
    comment_count: int | None


class CandidateView(BaseModel):
    """One leaderboard row; the score fields are null while the video is unscored."""

    model_config = ConfigDict(protected_namespaces=())

    video_id: str
    topic: str
    title: str
    channel_id: str | None
    channel_title: str | None
    thumbnail_url: str | None
    url: str
    published_at: str | None
    last_seen_at: str
    stats: CandidateStats
    scored: bool
    viral_probability: float | None
    is_viral: bool | None
    predicted_velocity_views_per_hour: float | None
    model_version: str | None
    scored_at: str | None
    score_is_current: bool = Field(description="The score was computed from the stats shown.")
    relevance: float | None = Field(
        description=(
            "How much the video is about the topic: the cosine of the model's embeddings of its text and of the "
            "topic, measured with the score. Listed rows are at or above the relevance threshold."
        )
    )


class CandidatesPage(BaseModel):
    """``GET /candidates`` answer: one page of a topic's leaderboard, only the videos about the topic."""

    topic: str = Field(description="The canonical topic.")
    items: list[CandidateView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
