"""The records of scrape jobs: a request, its job, the job's status and counts.

Callers pass and receive these; the job items' layout is :mod:`miles_core.store.job_repo`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from miles_core.config import DEFAULT_SCRAPE_MAX_DURATION_SECONDS, DEFAULT_SCRAPE_MAX_RESULTS
from miles_core.store.records import Cohort, iso
from miles_core.topics import Topic

MAX_JOB_ERRORS = 25
"""A job keeps at most this many error messages (the item must stay far below 400 KB)."""


class FailureCause(StrEnum):
    """Why a job failed or ended partial, as the runner recorded it (one job may record several).

    Recorded from the typed source errors and the runner's own stops, so the job's ``failure_reason``
    is derived from what happened, never guessed from error strings.
    """

    BLOCKED = "blocked"
    """YouTube refused the scraper ("confirm you're not a bot")."""
    QUOTA = "quota"
    """The YouTube Data API quota (daily or this run's) is used up."""
    NO_VIDEOS = "no_videos"
    """The source found no video for the topic."""
    OUT_OF_TIME = "out_of_time"
    """The worker's time budget ran out before the job finished."""
    SOURCE_SETUP = "source_setup"
    """No source is configured, or its key/secret is missing or refused."""
    SOURCE_DOWN = "source_down"
    """The source could not be reached or answered with an error."""
    VIDEOS_FAILED = "videos_failed"
    """Some videos the source found could not be read or stored."""
    NOT_RUN = "not_run"
    """No worker ran the job: it was never handed to the queue, or its message was dropped or dead-lettered."""


_REASONS: dict[FailureCause, str] = {
    FailureCause.BLOCKED: (
        "YouTube blocked Miles' search from this server (it asked to confirm it is not a bot): try again later, "
        "or ask whoever runs Miles to add a YouTube Data API key or yt-dlp cookies."
    ),
    FailureCause.QUOTA: (
        "Today's YouTube Data API quota is used up: start the scrape again after 00:00 UTC, when it resets."
    ),
    FailureCause.NO_VIDEOS: "No videos were found for \u201c{topic}\u201d: try a broader or differently worded topic.",
    FailureCause.OUT_OF_TIME: (
        "The scrape ran out of time before it finished: what it stored is kept; start it again for the rest."
    ),
    FailureCause.SOURCE_SETUP: (
        "Miles' YouTube access is not set up (no source, or its key was refused): ask whoever runs Miles to "
        "check the YouTube secret."
    ),
    FailureCause.SOURCE_DOWN: "YouTube could not be reached or answered with an error: try again in a few minutes.",
    FailureCause.VIDEOS_FAILED: "{failed} of {found} videos found could not be read or saved: start the scrape "
    "again to retry them.",
    FailureCause.NOT_RUN: "The scrape never ran (the job queue did not deliver it): start it again.",
}
UNCLASSIFIED_REASON = "The scrape failed for a reason Miles did not classify: {error}"
"""A job recorded before causes were recorded (or with none): its first error, as recorded."""


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    """Finished, but some videos or a source failed (see ``errors``)."""
    FAILED = "failed"


@dataclass
class JobCounts:
    found: int = 0
    new: int = 0
    updated: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"found": self.found, "new": self.new, "updated": self.updated, "failed": self.failed}


@dataclass(frozen=True)
class ScrapeJobRequest:
    """What to scrape: one topic (search query), how many results, a Shorts-friendly duration cap."""

    topic: Topic
    max_results: int = DEFAULT_SCRAPE_MAX_RESULTS
    max_duration_seconds: int | None = DEFAULT_SCRAPE_MAX_DURATION_SECONDS
    cohort: Cohort = Cohort.TOP


@dataclass(frozen=True)
class ScrapeJob:
    """A scrape job's record: its request, status, counts and (capped) error messages."""

    job_id: str
    request: ScrapeJobRequest
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    trigger: str = "api"
    counts: JobCounts = field(default_factory=JobCounts)
    errors: tuple[str, ...] = ()
    source: str | None = None
    attempts: int = 0
    run_id: str | None = None
    """Snapshot run: one per job, or shared by every niche of one scheduled run (one snapshot per video)."""
    lease_expires_at: datetime | None = None
    """When a job still ``queued`` or ``running`` reads as failed. Queued: the producer's time to hand it to the
    queue, then (once enqueued) the queue's retention; running: the worker's remaining time (``start_job``)."""
    enqueued_at: datetime | None = None
    """When the queue accepted the job's message; ``None`` while it was never handed over."""
    causes: tuple[FailureCause, ...] = ()
    """Why it failed or ended partial, in the order recorded (empty when it succeeded)."""

    @property
    def snapshot_run(self) -> str:
        return self.run_id or self.job_id

    @property
    def failure_reason(self) -> str | None:
        """Sentences a creator can act on, one per recorded cause; ``None`` unless the job failed or ended partial."""
        if self.status not in (JobStatus.FAILED, JobStatus.PARTIAL):
            return None
        causes = list(dict.fromkeys(self.causes))
        if not causes:
            first = self.errors[0] if self.errors else "no error was recorded"
            return UNCLASSIFIED_REASON.format(error=first)
        counts = self.counts
        sentences = [
            _REASONS[cause].format(topic=self.request.topic, failed=counts.failed, found=counts.found)
            for cause in causes
        ]
        if self.status is JobStatus.PARTIAL:
            stored = counts.new + counts.updated
            sentences.insert(0, f"Part of the scrape worked: {stored} of {counts.found} videos found were stored.")
        return " ".join(sentences)

    def as_public_dict(self) -> dict[str, Any]:
        """The JSON shape ``GET /scrape/jobs/{job_id}`` answers with."""
        return {
            "job_id": self.job_id,
            "status": self.status.value,
            "trigger": self.trigger,
            "topic": self.request.topic,
            "max_results": self.request.max_results,
            "max_duration_seconds": self.request.max_duration_seconds,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "source": self.source,
            "attempts": self.attempts,
            "counts": self.counts.as_dict(),
            "errors": list(self.errors),
            "failure_reason": self.failure_reason,
        }
