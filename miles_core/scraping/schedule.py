"""The scrape schedule: a job per niche and cohort per tick, recorded and enqueued (or run by ``miles scrape``).

Job ids are deterministic per (tick, niche, cohort), so a retried schedule invocation records nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from miles_core.config import (
    DEFAULT_SCRAPE_MAX_DURATION_SECONDS,
    DEFAULT_SCRAPE_MAX_RESULTS,
    env_int,
    env_list,
)
from miles_core.scraping.base import Source
from miles_core.scraping.jobs import JobEnqueueError, new_job, submit_job
from miles_core.scraping.queue import Enqueue
from miles_core.store import (
    Cohort,
    JobCounts,
    JobStatus,
    MilesStore,
    ScrapeJob,
    ScrapeJobRequest,
    parse_iso,
)
from miles_core.topics import Topic, normalize_topic, topic_digest

if TYPE_CHECKING:
    pass

from miles_core.scraping.job_runner import JobOutcome, run_job

DEFAULT_NICHES = (
    "cooking hacks",
    "fitness tips",
    "tech gadgets",
    "funny animals",
    "diy crafts",
    "travel vlog",
    "makeup tutorial",
)


def scheduled_run_id(scheduled_at: str) -> str:
    """The snapshot run of one schedule tick (shared by its niches: one snapshot per video per tick)."""
    stamp = "".join(ch for ch in scheduled_at if ch.isdigit())[:12] or "manual"
    return f"sched-{stamp}"


def scheduled_job_id(scheduled_at: str, topic: Topic, cohort: Cohort = Cohort.TOP) -> str:
    """Deterministic per (schedule time, niche, cohort): a retried schedule invocation resumes the same jobs."""
    suffix = "" if cohort is Cohort.TOP else f"-{cohort.value}"
    return f"{scheduled_run_id(scheduled_at)}-{topic_digest(topic)}{suffix}"


def niches_from_env() -> tuple[Topic, ...]:
    """``MILES_NICHES`` (comma-separated topics the schedule scrapes), canonical and de-duplicated.

    Configuration is where these topics enter Miles, so they are made :data:`Topic` values here.
    """
    seen: dict[Topic, None] = {}
    for niche in env_list("MILES_NICHES", DEFAULT_NICHES):
        seen.setdefault(normalize_topic(niche), None)
    return tuple(seen)


def schedule_defaults() -> tuple[int, int | None]:
    """(max_results, max_duration_seconds) for scheduled jobs."""
    return (
        env_int("MILES_SCRAPE_MAX_RESULTS", DEFAULT_SCRAPE_MAX_RESULTS),
        env_int("MILES_SCRAPE_MAX_DURATION_SECONDS", DEFAULT_SCRAPE_MAX_DURATION_SECONDS),
    )


def scheduled_jobs(scheduled_at: str, niches: Sequence[Topic] | None = None) -> list[ScrapeJob]:
    """Two jobs per niche for one schedule tick, the top of its search and its fresh short uploads.

    Ids are deterministic per (tick, niche, cohort) and every job shares the tick's snapshot run, so
    a retried schedule invocation builds the same jobs and recording them again records nothing.
    """
    max_results, max_duration = schedule_defaults()
    try:
        tick = parse_iso(scheduled_at)  # every niche's snapshots share the tick's time and run id
    except ValueError:
        tick = datetime.now(UTC)
    run_id = scheduled_run_id(scheduled_at)
    return [
        new_job(
            ScrapeJobRequest(niche, max_results, max_duration, cohort),
            scheduled_job_id(scheduled_at, niche, cohort),
            trigger="schedule",
            now=tick,
            run_id=run_id,
        )
        for niche in (niches if niches is not None else niches_from_env())
        for cohort in Cohort
    ]


def enqueue_scheduled(store: MilesStore, scheduled_at: str, enqueue: Enqueue) -> list[JobOutcome]:
    """The schedule's fan-out: each niche's job recorded and enqueued with :func:`submit_job`.

    The queue's consumer runs them one per invocation (each with the worker's whole timeout), so a
    slow niche cannot starve the others. A niche whose enqueue fails is recorded as failed
    and reported ``retryable``; the others are still enqueued.
    """
    outcomes: list[JobOutcome] = []
    for job in scheduled_jobs(scheduled_at):
        outcome = JobOutcome(job_id=job.job_id, status=JobStatus.QUEUED, counts=JobCounts())
        try:
            if not submit_job(store, job, enqueue):
                outcome.errors.append(
                    "already recorded by an earlier delivery of this schedule tick; not enqueued again"
                )
        except JobEnqueueError as error:
            outcome.status = JobStatus.FAILED
            outcome.errors.append(str(error))
            outcome.retryable = True
        outcomes.append(outcome)
    return outcomes


def run_scheduled(
    store: MilesStore, sources: Sequence[Source], scheduled_at: str, niches: Sequence[Topic] | None = None
) -> list[JobOutcome]:
    """The schedule's jobs run here, one after the other (``miles scrape``: a local run with no queue)."""
    outcomes: list[JobOutcome] = []
    for job in scheduled_jobs(scheduled_at, niches):
        store.create_job(job)
        outcomes.append(run_job(store, sources, job.job_id))
    return outcomes


def schedule_summary(outcomes: Sequence[JobOutcome]) -> dict[str, Any]:
    """What a scheduled run answers and logs: each niche's job, status, counts and first errors."""
    return {
        "jobs": [
            {"job_id": o.job_id, "status": o.status.value, "counts": o.counts.as_dict(), "errors": o.errors[:5]}
            for o in outcomes
        ]
    }


def retryable_jobs(outcomes: Sequence[JobOutcome]) -> list[str]:
    """The jobs of a run that a retry could complete (throttled writes, network errors)."""
    return [o.job_id for o in outcomes if o.retryable]
