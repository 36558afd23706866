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
from datetime import timedelta
from typing import TYPE_CHECKING

from miles_core.scraping.base import SearchQuery, SearchResult, Source, SourceError
from miles_core.scraping.fixed_age_snapshots import schedule_video
from miles_core.store import (
    FailureCause,
    JobCounts,
    JobStatus,
    MilesStore,
    ScrapedVideo,
    ScrapeJob,
    StoreError,
    UpsertOutcome,
)

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


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
    causes: list[FailureCause] = field(default_factory=list)
    """Why the job failed or ended partial (the store derives its ``failure_reason`` from these)."""

    def fail(self, message: str, cause: FailureCause) -> None:
        """Record an error and its cause."""
        self.errors.append(message)
        self.causes.append(cause)


def _search(sources: Sequence[Source], query: SearchQuery, outcome: JobOutcome) -> SearchResult | None:
    retryable = False
    for source in sources:
        try:
            result = source.search(query)
        except SourceError as error:
            logger.warning("source %s failed for %r: %s", source.name, query.topic, error)
            outcome.fail(str(error), error.cause)
            retryable = retryable or error.retryable
            continue
        except Exception as error:  # a bug or an unexpected library error: report it, try the next source
            logger.exception("source %s crashed for %r", source.name, query.topic)
            outcome.fail(
                f"{source.name}: unexpected {type(error).__name__}: {str(error)[:200]}", FailureCause.SOURCE_DOWN
            )
            retryable = True
            continue
        outcome.source = result.source
        outcome.causes.clear()  # a source answered: the ones that failed before it are not why the job fails
        return result
    if not sources:
        outcome.fail("no source configured (set MILES_YOUTUBE_SECRET_ID or allow ytdlp)", FailureCause.SOURCE_SETUP)
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
        outcome.fail(f"not started: {time_left():.0f} s left before the worker's timeout", FailureCause.OUT_OF_TIME)
        outcome.status = JobStatus.FAILED
        outcome.retryable = True  # a redelivery gets a fresh invocation
        _finish(store, outcome)
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
        _finish(store, outcome)
        return outcome
    unique: dict[str, ScrapedVideo] = {}
    for video in result.videos:
        unique.setdefault(video.video_id, replace(video, cohort=request.cohort))
    outcome.counts.found = len(unique) + len(result.failures)
    outcome.counts.failed = len(result.failures)
    outcome.errors.extend(result.failures)
    if result.failures:
        outcome.causes.append(FailureCause.VIDEOS_FAILED)
    stopped = result.cut_short is not None
    if result.cut_short is not None:
        outcome.fail(result.cut_short, FailureCause.OUT_OF_TIME)
    for written, video in enumerate(unique.values()):
        if time_left() < STOP_MARGIN_SECONDS:
            outcome.fail(
                f"stopped before the worker's timeout: {written} of {len(unique)} videos written "
                f"({time_left():.0f} s left)",
                FailureCause.OUT_OF_TIME,
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
    _finish(store, outcome)
    logger.info("scrape job %s (%s) %s: %s", job_id, request.topic, outcome.status.value, outcome.counts.as_dict())
    return outcome


def _finish(store: MilesStore, outcome: JobOutcome) -> None:
    """Store the outcome; a succeeded job keeps no causes (a source that failed before another answered)."""
    causes = outcome.causes if outcome.status in (JobStatus.FAILED, JobStatus.PARTIAL) else []
    store.finish_job(outcome.job_id, outcome.status, outcome.counts, outcome.errors, outcome.source, causes)


def _write_video(store: MilesStore, video: ScrapedVideo, job: ScrapeJob, outcome: JobOutcome) -> None:
    topic = job.request.topic
    try:
        result = store.upsert_video(video, topic=topic, run_id=job.snapshot_run)
        store.append_snapshot(video.snapshot(job.snapshot_run, job.created_at, topic=topic))
        if result is not UpsertOutcome.UPDATED_OFF_TOPIC:  # a video on enough topics joins no more
            store.add_topic_membership(topic, video)
    except StoreError as error:
        outcome.counts.failed += 1
        outcome.fail(f"video {video.video_id}: {error}", FailureCause.VIDEOS_FAILED)
        outcome.retryable = outcome.retryable or error.retryable
        return
    except Exception as error:  # never let one video lose the others
        logger.exception("writing video %s failed", video.video_id)
        outcome.counts.failed += 1
        outcome.fail(f"video {video.video_id}: {type(error).__name__}: {str(error)[:200]}", FailureCause.VIDEOS_FAILED)
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
