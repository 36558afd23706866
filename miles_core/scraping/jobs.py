"""Scrape jobs come into being here: one way to create a job record, one way to hand it to the worker.

Every producer (``POST /scrape/jobs``, a recommendation for a cold topic, the schedule) calls
:func:`submit_job`, so they all fail the same way: a job the queue did not accept is recorded as failed
(visible through ``GET /scrape/jobs/{id}``) and the producer gets :class:`JobEnqueueError`. On-demand
producers (``POST /scrape/jobs`` and a recommendation) go through :func:`submit_deduplicated`: identical
requests within :data:`DEDUPE_WINDOW` share one job whichever of them asked first. The worker
calls :func:`ensure_recorded` for a message whose record is missing and :func:`fail_dead_lettered` for a
message the queue gave up on (the dead-letter queue).

No job stays ``queued`` for ever: a new record has :data:`SEND_GRACE` to be handed to the queue, and once
the queue took it, the queue's retention (:data:`QUEUE_RETENTION`); past that lease it reads ``failed``
with the reason. A producer retried with the same job id (a schedule tick, a recommendation in the same
hour) sends a job again when its record says it never reached the queue, instead of skipping it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from miles_core.config import SCRAPE_DEDUPE_WINDOW_SECONDS
from miles_core.scraping.queue import Enqueue, JobMessage, parse_job_message
from miles_core.store import FailureCause, JobCounts, JobStatus, MilesStore, ScrapeJob, ScrapeJobRequest, StoreError

logger = logging.getLogger(__name__)

DEDUPE_WINDOW = timedelta(seconds=SCRAPE_DEDUPE_WINDOW_SECONDS)
"""How long identical on-demand scrape requests share one job."""
SEND_GRACE = timedelta(seconds=60)
"""A recorded job not handed to the queue within this reads failed ("never enqueued"): a producer sends
right after recording (API Gateway cuts an API producer at 29 s), so by then it has failed or died."""
QUEUE_RETENTION = timedelta(seconds=345_600)
"""The job queue's ``MessageRetentionPeriod`` (``template.yaml``, 4 days): SQS deletes a message no worker
took by then, so an enqueued job still ``queued`` after it reads failed ("not started")."""


class JobEnqueueError(RuntimeError):
    """The job was recorded but the queue did not take it; the record says ``failed``."""

    def __init__(self, job_id: str, cause: Exception) -> None:
        super().__init__(f"scrape job {job_id} could not be enqueued: {type(cause).__name__}")
        self.job_id = job_id


def new_job(
    request: ScrapeJobRequest, job_id: str, *, trigger: str, now: datetime | None = None, run_id: str | None = None
) -> ScrapeJob:
    """A queued job record for ``request`` (its topic is canonical already, so leaderboards match)."""
    moment = now or datetime.now(UTC)
    return ScrapeJob(
        job_id=job_id,
        request=request,
        status=JobStatus.QUEUED,
        created_at=moment,
        updated_at=moment,
        trigger=trigger,
        run_id=run_id,
    )


def submit_job(store: MilesStore, job: ScrapeJob, enqueue: Enqueue) -> bool:
    """Record ``job`` and enqueue it: True when this call sent it, False when its id was already handled.

    A job recorded before is sent again only when it never reached the queue (its enqueue failed, or its
    producer stopped between recording and sending) and was never started: a retried producer completes
    the hand-over instead of skipping it. If the queue refuses, the job is marked failed (with the error's
    type, never its text) and :class:`JobEnqueueError` is raised, so the caller can answer 503 or carry on.
    """
    if not store.create_job(job, lease=SEND_GRACE):
        existing = store.get_job(job.job_id)
        if existing is None or not _never_sent(existing):
            logger.info("scrape job %s was already recorded; not enqueued again", job.job_id)
            return False
        if not store.requeue_unsent_job(job.job_id, existing.updated_at, SEND_GRACE):
            logger.info("scrape job %s is being re-sent by another producer", job.job_id)
            return False
        logger.warning("scrape job %s never reached the queue (%s); sending it again", job.job_id, existing.errors)
    _send(store, job, enqueue)
    return True


def _never_sent(job: ScrapeJob) -> bool:
    """Recorded, never accepted by the queue and never started: its enqueue failed, or it is past its grace."""
    return job.enqueued_at is None and job.attempts == 0 and job.status is JobStatus.FAILED


def _send(store: MilesStore, job: ScrapeJob, enqueue: Enqueue) -> None:
    """Hand the recorded ``job`` to the queue and record the outcome on it.

    Neither record write may hide the outcome: a failed enqueue raises :class:`JobEnqueueError` even when
    marking the job failed fails too (it then reads failed once its :data:`SEND_GRACE` lease passes), and
    a sent job whose ``enqueued_at`` could not be written is still sent (at worst a retry sends it again,
    which the worker runs idempotently).
    """
    try:
        enqueue(job)
    except Exception as error:  # any failure to hand over means the job would never run: say so
        logger.exception("could not enqueue scrape job %s", job.job_id)
        reason = f"could not enqueue: {type(error).__name__}"
        try:
            store.finish_job(job.job_id, JobStatus.FAILED, JobCounts(), [reason], None, [FailureCause.NOT_RUN])
        except StoreError:
            logger.exception("could not mark scrape job %s failed; it reads failed when its lease ends", job.job_id)
        raise JobEnqueueError(job.job_id, error) from error
    try:
        store.mark_job_enqueued(job.job_id, QUEUE_RETENTION)
    except StoreError:
        logger.exception("scrape job %s was enqueued but could not be marked so", job.job_id)


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


def submit_deduplicated(
    store: MilesStore, job: ScrapeJob, enqueue: Enqueue, window: timedelta = DEDUPE_WINDOW
) -> tuple[ScrapeJob, bool]:
    """(the job that serves this request, True when it is ``job``): identical requests share one job.

    Identical means the same topic, ``max_results`` and ``max_duration_seconds``, whoever asked: a
    recommendation for a cold topic and ``POST /scrape/jobs`` with the default limits share a job. The
    first request within ``window`` claims a slot (a conditional put), later ones get its job back
    (still the 202 answer, with the existing job's id and status). A holder that has *failed* does
    not block a new attempt: its slot is taken over.
    """
    request = job.request
    holder_id = store.claim_job_slot(request, job.job_id, window)
    if holder_id != job.job_id:
        holder = store.get_job(holder_id)
        if holder is not None and holder.status is not JobStatus.FAILED:
            logger.info("scrape request for %r deduplicated onto job %s", request.topic, holder_id)
            return holder, False
        holder_id = store.claim_job_slot(request, job.job_id, window, replacing=holder_id)
        if holder_id != job.job_id:  # another request took the failed job's place first
            current = store.get_job(holder_id)
            if current is not None:
                return current, False
    submit_job(store, job, enqueue)
    return job, True


def fail_dead_lettered(store: MilesStore, body: str) -> str | None:
    """Mark the job of a dead-lettered message failed (unless it finished); its id, or None if unreadable.

    The queue moves a message to the DLQ after ``maxReceiveCount`` failed receives (a worker that kept
    crashing or timing out): without this its job would read ``queued``/``running`` until its TTL.
    """
    try:
        message = parse_job_message(body)
    except ValueError:
        logger.warning("dead-lettered scrape message is unreadable; dropped (the DLQ alarm saw it)")
        return None
    reason = "failed: the job's message reached the dead-letter queue after repeated failed deliveries"
    if store.fail_unfinished_job(message.job_id, reason):
        logger.warning("scrape job %s marked failed: its message reached the DLQ", message.job_id)
    return message.job_id
