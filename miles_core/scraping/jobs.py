"""Scrape jobs come into being here: one way to create a job record, one way to hand it to the worker.

Every producer (``POST /scrape/jobs``, a recommendation for a cold topic) calls :func:`submit_job`,
so they all fail the same way: a job the queue did not accept is recorded as failed (visible
through ``GET /scrape/jobs/{id}``) and the producer gets :class:`JobEnqueueError`. The worker calls
:func:`ensure_recorded` for a message whose record is missing, and the schedule creates its jobs
with :func:`new_job` and runs them at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from miles_core.scraping.queue import Enqueue, JobMessage
from miles_core.store import JobCounts, JobStatus, MilesStore, ScrapeJob, ScrapeJobRequest
from miles_core.topics import normalize_topic

logger = logging.getLogger(__name__)


class JobEnqueueError(RuntimeError):
    """The job was recorded but the queue did not take it; the record says ``failed``."""

    def __init__(self, job_id: str, cause: Exception) -> None:
        super().__init__(f"scrape job {job_id} could not be enqueued: {type(cause).__name__}")
        self.job_id = job_id


def new_job(
    request: ScrapeJobRequest, job_id: str, *, trigger: str, now: datetime | None = None, run_id: str | None = None
) -> ScrapeJob:
    """A queued job record for ``request`` (topic normalised, so leaderboards match)."""
    moment = now or datetime.now(UTC)
    normalized = ScrapeJobRequest(
        topic=normalize_topic(request.topic),
        max_results=request.max_results,
        max_duration_seconds=request.max_duration_seconds,
    )
    return ScrapeJob(
        job_id=job_id,
        request=normalized,
        status=JobStatus.QUEUED,
        created_at=moment,
        updated_at=moment,
        trigger=trigger,
        run_id=run_id,
    )


def submit_job(store: MilesStore, job: ScrapeJob, enqueue: Enqueue) -> bool:
    """Record ``job`` and enqueue it: True, or False when its id was recorded before (not sent twice).

    If the queue refuses, the job is marked failed (with the error's type, never its text) and
    :class:`JobEnqueueError` is raised, so the caller can answer 503 or carry on without it.
    """
    if not store.create_job(job):
        logger.info("scrape job %s was already recorded; not enqueued again", job.job_id)
        return False
    try:
        enqueue(job)
    except Exception as error:  # any failure to hand over means the job would never run: say so
        logger.exception("could not enqueue scrape job %s", job.job_id)
        reason = f"could not enqueue: {type(error).__name__}"
        store.finish_job(job.job_id, JobStatus.FAILED, JobCounts(), [reason], None)
        raise JobEnqueueError(job.job_id, error) from error
    return True


def ensure_recorded(store: MilesStore, message: JobMessage) -> str:
    """The job id of a queue message, recording the job first when its record is missing.

    Producers record before enqueueing; a message sent by hand (or whose record was lost) carries
    its request, so the job can still run and be reported. ``ValueError`` when it carries none.
    """
    if store.get_job(message.job_id) is None:
        if message.request is None:
            raise ValueError(f"scrape job {message.job_id} has no record and its message no topic")
        store.create_job(new_job(message.request, message.job_id, trigger="queue"))
    return message.job_id
