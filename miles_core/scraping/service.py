"""Run one scrape job: search (first working source wins), then write every video independently.

Guarantees the handlers rely on:
* one failing video (unmappable data, a throttled write) never stops the others; it is counted
  as ``failed`` with its error in the job;
* a failing source is reported in the job's errors, then the next configured source is tried;
* the outcome says whether a retry could help (a throttled write, a network failure), so the
  SQS handler reports the message as failed and SQS redelivers it. Re-running the same job is
  safe: snapshot keys contain the job id and its creation time, so a retry adds nothing twice;
* a job never outlives its worker silently: ``start_job`` writes a lease (the worker's remaining
  time), and the runner stops writing when less than :data:`STOP_MARGIN_SECONDS` are left, ending the
  job ``partial``/``failed`` with what it finished instead of being cut mid-write at the timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from miles_core.config import (
    DEFAULT_SCRAPE_MAX_DURATION_SECONDS,
    DEFAULT_SCRAPE_MAX_RESULTS,
    env_int,
    env_list,
    env_str,
)
from miles_core.scraping.base import SearchQuery, SearchResult, Source, SourceConfigError, SourceError
from miles_core.scraping.fixed_age_snapshots import schedule_video
from miles_core.scraping.jobs import JobEnqueueError, new_job, submit_job
from miles_core.scraping.queue import Enqueue
from miles_core.secrets import SecretUnavailableError, read_secret_fields
from miles_core.store import (
    Cohort,
    JobCounts,
    JobStatus,
    MilesStore,
    ScrapedVideo,
    ScrapeJob,
    ScrapeJobRequest,
    StoreError,
    UpsertOutcome,
    parse_iso,
)
from miles_core.topics import Topic, normalize_topic, topic_digest

if TYPE_CHECKING:
    from miles_core.scraping.youtube_api import YouTubeDataApiSource

logger = logging.getLogger(__name__)

DEFAULT_NICHES = (
    "cooking hacks",
    "fitness tips",
    "tech gadgets",
    "funny animals",
    "diy crafts",
    "travel vlog",
    "makeup tutorial",
)
DEFAULT_SOURCES = ("youtube_api", "ytdlp")


STOP_MARGIN_SECONDS = 30.0
"""The runner stops writing videos when the invocation has less than this left (time to record the outcome)."""
WRITE_RESERVE_SECONDS = 60.0
"""Kept from the search (on top of :data:`STOP_MARGIN_SECONDS`) for writing what it found: a source's last
request may run past the search's deadline by its retries (yt-dlp: two 15 s socket timeouts), and the
writes need the rest (three item writes per video, at most 50 videos)."""
MIN_SEARCH_SECONDS = 120.0
"""A search is not started with less than this left: it would be cut before anything is written."""
DEFAULT_LEASE_SECONDS = 900.0
"""Lease of a job run without a Lambda context (CLI, tests): the worker's 600 s timeout plus margin."""

Remaining = Callable[[], float]
"""Seconds the current invocation has left (``context.get_remaining_time_in_millis() / 1000``)."""


class JobRetryableError(RuntimeError):
    """Raised by handlers after recording the job, so SQS/Lambda retries it (nothing is lost)."""


@dataclass
class JobOutcome:
    job_id: str
    status: JobStatus
    counts: JobCounts
    errors: list[str] = field(default_factory=list)
    source: str | None = None
    retryable: bool = False


def scheduled_run_id(scheduled_at: str) -> str:
    """The snapshot run of one schedule tick (shared by its niches: one snapshot per video per tick)."""
    stamp = "".join(ch for ch in scheduled_at if ch.isdigit())[:12] or "manual"
    return f"sched-{stamp}"


def scheduled_job_id(scheduled_at: str, topic: Topic, cohort: Cohort = Cohort.TOP) -> str:
    """Deterministic per (schedule time, niche, cohort): a retried schedule invocation resumes the same jobs."""
    suffix = "" if cohort is Cohort.TOP else f"-{cohort.value}"
    return f"{scheduled_run_id(scheduled_at)}-{topic_digest(topic)}{suffix}"


def _search(sources: Sequence[Source], query: SearchQuery, outcome: JobOutcome) -> SearchResult | None:
    retryable = False
    for source in sources:
        try:
            result = source.search(query)
        except SourceError as error:
            logger.warning("source %s failed for %r: %s", source.name, query.topic, error)
            outcome.errors.append(str(error))
            retryable = retryable or error.retryable
            continue
        except Exception as error:  # a bug or an unexpected library error: report it, try the next source
            logger.exception("source %s crashed for %r", source.name, query.topic)
            outcome.errors.append(f"{source.name}: unexpected {type(error).__name__}: {str(error)[:200]}")
            retryable = True
            continue
        outcome.source = result.source
        return result
    if not sources:
        outcome.errors.append("no source configured (set MILES_YOUTUBE_SECRET_ID or allow ytdlp)")
    outcome.retryable = retryable
    return None


def run_job(
    store: MilesStore, sources: Sequence[Source], job_id: str, remaining: Remaining | None = None
) -> JobOutcome:
    """Run a recorded job (status -> running -> succeeded/partial/failed) and store its outcome.

    ``remaining`` is the invocation's time left: it is the job's lease, and the runner stops cleanly
    (recording what it finished) when it runs low. Without it the job has :data:`DEFAULT_LEASE_SECONDS`.
    """
    time_left: Remaining = remaining or (lambda: DEFAULT_LEASE_SECONDS)
    job = store.start_job(job_id, lease=timedelta(seconds=max(time_left(), 1.0)))
    request = job.request
    outcome = JobOutcome(job_id=job_id, status=JobStatus.RUNNING, counts=JobCounts())
    if time_left() < MIN_SEARCH_SECONDS:
        outcome.errors.append(f"not started: {time_left():.0f} s left before the worker's timeout")
        outcome.status = JobStatus.FAILED
        outcome.retryable = True  # a redelivery gets a fresh invocation
        store.finish_job(job_id, outcome.status, outcome.counts, outcome.errors, outcome.source)
        return outcome
    search_seconds = time_left() - STOP_MARGIN_SECONDS - WRITE_RESERVE_SECONDS
    query = SearchQuery(
        request.topic,
        request.max_results,
        request.max_duration_seconds,
        request.cohort,
        deadline=time.monotonic() + search_seconds,
    )
    result = _search(sources, query, outcome)
    if result is None:
        outcome.status = JobStatus.FAILED
        store.finish_job(job_id, outcome.status, outcome.counts, outcome.errors, outcome.source)
        return outcome
    unique: dict[str, ScrapedVideo] = {}
    for video in result.videos:
        unique.setdefault(video.video_id, replace(video, cohort=request.cohort))
    outcome.counts.found = len(unique) + len(result.failures)
    outcome.counts.failed = len(result.failures)
    outcome.errors.extend(result.failures)
    stopped = result.cut_short is not None
    if result.cut_short is not None:
        outcome.errors.append(result.cut_short)
    for written, video in enumerate(unique.values()):
        if time_left() < STOP_MARGIN_SECONDS:
            outcome.errors.append(
                f"stopped before the worker's timeout: {written} of {len(unique)} videos written "
                f"({time_left():.0f} s left)"
            )
            stopped = True
            break
        _write_video(store, video, job, outcome)
    # partial means videos of the answer were lost (failed, not fetched by the search's deadline, or not
    # written before the timeout). A source that failed before another answered stays in the errors but
    # does not make the job partial: the offline catalog answer succeeds.
    if outcome.counts.failed or stopped:
        succeeded_any = outcome.counts.new + outcome.counts.updated > 0
        outcome.status = JobStatus.PARTIAL if succeeded_any else JobStatus.FAILED
    else:
        outcome.status = JobStatus.SUCCEEDED
    store.finish_job(job_id, outcome.status, outcome.counts, outcome.errors, outcome.source)
    logger.info("scrape job %s (%s) %s: %s", job_id, request.topic, outcome.status.value, outcome.counts.as_dict())
    return outcome


def _write_video(store: MilesStore, video: ScrapedVideo, job: ScrapeJob, outcome: JobOutcome) -> None:
    topic = job.request.topic
    try:
        result = store.upsert_video(video, topic=topic, run_id=job.snapshot_run)
        store.append_snapshot(video.snapshot(job.snapshot_run, job.created_at, topic=topic))
        if result is not UpsertOutcome.UPDATED_OFF_TOPIC:  # a video on enough topics joins no more
            store.add_topic_membership(topic, video)
    except StoreError as error:
        outcome.counts.failed += 1
        outcome.errors.append(f"video {video.video_id}: {error}")
        outcome.retryable = outcome.retryable or error.retryable
        return
    except Exception as error:  # never let one video lose the others
        logger.exception("writing video %s failed", video.video_id)
        outcome.counts.failed += 1
        outcome.errors.append(f"video {video.video_id}: {type(error).__name__}: {str(error)[:200]}")
        outcome.retryable = True
        return
    if result is UpsertOutcome.NEW:
        outcome.counts.new += 1
        try:
            schedule_video(store, video, video.stats.observed_at)
        except StoreError as error:  # the video is stored; only its fixed-age readings are lost
            outcome.errors.append(f"video {video.video_id}: fixed-age snapshots not scheduled: {error}")
    else:
        outcome.counts.updated += 1


def _secret_fields(secret_id: str, source: str, plain_key: str) -> dict[str, Any]:
    """A source's secret; an unreadable one is that source's configuration error (the job says which)."""
    try:
        return read_secret_fields(secret_id, plain_key=plain_key)
    except SecretUnavailableError as error:
        raise SourceConfigError(source, str(error)) from error


def sources_from_env(store: MilesStore | None = None) -> list[Source]:
    """The configured source chain: ``MILES_SCRAPE_SOURCES`` (default ``youtube_api,ytdlp``).

    ``youtube_api`` needs ``MILES_YOUTUBE_SECRET_ID`` and is skipped without it; with ``store`` its
    calls spend the shared daily quota (:class:`~miles_core.scraping.quota.DailyQuota`). ``ytdlp`` reads
    optional cookies/proxy from ``MILES_YTDLP_SECRET_ID``; ``catalog`` answers from the table's own
    videos (the offline and last-resort source). Secrets are read lazily, at first use.
    """
    sources: list[Source] = []
    for name in env_list("MILES_SCRAPE_SOURCES", DEFAULT_SOURCES):
        if name == "youtube_api":
            api = youtube_api_from_env(store)
            if api is not None:
                sources.append(api)
        elif name == "ytdlp":
            from miles_core.scraping.ytdlp import YtDlpSource

            ytdlp_secret = env_str("MILES_YTDLP_SECRET_ID")

            def credentials(secret_id: str | None = ytdlp_secret) -> dict[str, Any]:
                return _secret_fields(secret_id, "ytdlp", "cookies") if secret_id else {}

            sources.append(YtDlpSource(credentials=credentials))
        elif name == "catalog":
            from miles_core.scraping.catalog import CatalogSource

            sources.append(CatalogSource(MilesStore.from_env, topics=niches_from_env()))
        else:
            logger.warning("unknown scrape source %r in MILES_SCRAPE_SOURCES ignored", name)
    return sources


def youtube_api_from_env(store: MilesStore | None = None) -> YouTubeDataApiSource | None:
    """The YouTube Data API source, or ``None`` without ``MILES_YOUTUBE_SECRET_ID``.

    With ``store`` its calls spend the shared daily quota; the key is read at the first call.
    """
    secret_id = env_str("MILES_YOUTUBE_SECRET_ID")
    if secret_id is None:
        logger.info("youtube_api source skipped: MILES_YOUTUBE_SECRET_ID is not set")
        return None
    from miles_core.scraping.youtube_api import YouTubeDataApiSource

    def api_key() -> str:
        value = _secret_fields(secret_id, "youtube_api", "api_key").get("api_key")
        if not isinstance(value, str) or not value.strip():
            raise SourceConfigError("youtube_api", f"secret {secret_id!r} has no api_key")
        return value.strip()

    spend = None
    if store is not None:
        from miles_core.scraping.quota import DailyQuota

        spend = DailyQuota(store).spend
    budget = env_int("MILES_YOUTUBE_QUOTA_BUDGET", 1000)
    return YouTubeDataApiSource(api_key, quota_budget=budget, spend=spend)


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
    slow niche can no longer starve the others. A niche whose enqueue fails is recorded as failed
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
