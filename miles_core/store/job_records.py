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

    @property
    def snapshot_run(self) -> str:
        return self.run_id or self.job_id

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
        }
