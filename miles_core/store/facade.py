"""``MilesStore``: every read and write of the single DynamoDB table, by intention.

Callers pass and receive the records of :mod:`miles_core.store.records`; they never see a key or
an attribute value. The facade composes one small repository per kind of item and keeps one
method per operation, so callers depend on one object:

* :mod:`~miles_core.store.video_repo` - videos and snapshots;
* :mod:`~miles_core.store.leaderboard_repo` - topic leaderboards and the score writes;
* :mod:`~miles_core.store.registry_repo` - when each model version first scored;
* :mod:`~miles_core.store.job_repo` - scrape jobs and the dedupe slots;
* :mod:`~miles_core.store.quota_repo` - daily quota counters;
* :mod:`~miles_core.store.cache_repo` - the JSON cache;
* :mod:`~miles_core.store.fixed_age_repo` - fixed-age snapshots that are due (``store.fixed_ages``);
* :mod:`~miles_core.store.accuracy_repo` - kept and settled scores (live accuracy).

The key layout is :mod:`~miles_core.store.keys`, the record <-> item mapping
:mod:`~miles_core.store.items`, the retries and conditional writes :mod:`~miles_core.store.dynamo`.
The repositories say which items each operation touches, under which condition, and why: the
conditions are what make every write idempotent (an SQS redelivery or a retried schedule adds
nothing twice) and what keep the stream scorer from re-scoring its own output.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from miles_core.config import DEFAULT_RETENTION_DAYS, env_int, env_required
from miles_core.store.accuracy_repo import AccuracyRepository, KeptScore, SettledScore
from miles_core.store.cache_repo import CacheRepository
from miles_core.store.dynamo import Clock, DynamoTable, Retention, client_config
from miles_core.store.fixed_age_repo import FixedAgeRepository
from miles_core.store.job_records import FailureCause, JobCounts, JobStatus, ScrapeJob, ScrapeJobRequest
from miles_core.store.job_repo import JobRepository
from miles_core.store.leaderboard_repo import LeaderboardRepository
from miles_core.store.quota_repo import QuotaRepository
from miles_core.store.records import (
    CandidatePage,
    Score,
    ScoreWriteOutcome,
    ScrapedVideo,
    Snapshot,
    UpsertOutcome,
    VideoRecord,
)
from miles_core.store.registry_repo import ModelRegistry
from miles_core.store.video_repo import VideoRepository
from miles_core.topics import Topic

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MilesStore:
    """The Miles table. One instance per Lambda container (module scope), reused across invocations."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        clock: Clock = _utc_now,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self.table = DynamoTable(client, table_name)
        self.retention = Retention(timedelta(days=retention_days))
        self._videos = VideoRepository(self.table, clock, self.retention)
        self._registry = ModelRegistry(self.table, clock)
        self._leaderboards = LeaderboardRepository(self.table, clock, self.retention, self._registry)
        self._jobs = JobRepository(self.table, clock)
        self._quota = QuotaRepository(self.table)
        self._cache = CacheRepository(self.table, clock)
        self._accuracy = AccuracyRepository(self.table, clock, self.retention)
        self.fixed_ages = FixedAgeRepository(self.table, clock)
        """Fixed-age snapshots that are due (scheduled at first sight, settled by the re-snapshot job)."""

    @classmethod
    def from_env(cls, client: DynamoDBClient | None = None) -> MilesStore:
        """``MILES_TABLE_NAME`` + a DynamoDB client (``AWS_ENDPOINT_URL`` is honoured by boto3 itself)."""
        if client is None:
            import boto3

            client = boto3.client("dynamodb", config=client_config())  # botocore's retries: the only layer
        return cls(
            client,
            env_required("MILES_TABLE_NAME"),
            retention_days=env_int("MILES_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
        )

    # ------------------------------------------------------------------ videos and snapshots

    def upsert_video(self, video: ScrapedVideo, *, topic: Topic | None, run_id: str) -> UpsertOutcome:
        """See :meth:`VideoRepository.upsert_video`."""
        return self._videos.upsert_video(video, topic=topic, run_id=run_id)

    def append_snapshot(self, snapshot: Snapshot) -> bool:
        """See :meth:`VideoRepository.append_snapshot`."""
        return self._videos.append_snapshot(snapshot)

    def get_video(self, video_id: str) -> VideoRecord | None:
        """See :meth:`VideoRepository.get_video`."""
        return self._videos.get_video(video_id)

    def list_snapshots(self, video_id: str) -> list[Snapshot]:
        """See :meth:`VideoRepository.list_snapshots`."""
        return self._videos.list_snapshots(video_id)

    def iter_video_histories(self) -> Iterator[tuple[VideoRecord, list[Snapshot]]]:
        """See :meth:`VideoRepository.iter_video_histories`."""
        return self._videos.iter_video_histories()

    # ------------------------------------------------------------------ leaderboards, scores, model registry

    def add_topic_membership(self, topic: Topic, video: ScrapedVideo) -> None:
        """See :meth:`LeaderboardRepository.add_topic_membership`."""
        self._leaderboards.add_topic_membership(topic, video)

    def list_candidates(
        self,
        topic: Topic,
        *,
        limit: int = 20,
        min_probability: float | None = None,
        cursor: str | None = None,
        seen_within: timedelta | None = None,
        min_relevance: float | None = None,
    ) -> CandidatePage:
        """See :meth:`LeaderboardRepository.list_candidates`."""
        return self._leaderboards.list_candidates(
            topic,
            limit=limit,
            min_probability=min_probability,
            cursor=cursor,
            seen_within=seen_within,
            min_relevance=min_relevance,
        )

    def write_score(
        self, video: VideoRecord, score: Score, relevance: Mapping[Topic, float | None] | None = None
    ) -> ScoreWriteOutcome:
        """See :meth:`LeaderboardRepository.write_score`."""
        return self._leaderboards.write_score(video, score, relevance)

    def model_seen_at(self, model_version: str) -> str:
        """See :meth:`ModelRegistry.model_seen_at`."""
        return self._registry.model_seen_at(model_version)

    # ------------------------------------------------------------------ scrape jobs

    def create_job(self, job: ScrapeJob, lease: timedelta | None = None) -> bool:
        """See :meth:`JobRepository.create_job`."""
        return self._jobs.create_job(job, lease)

    def get_job(self, job_id: str) -> ScrapeJob | None:
        """See :meth:`JobRepository.get_job`."""
        return self._jobs.get_job(job_id)

    def start_job(self, job_id: str, lease: timedelta) -> ScrapeJob:
        """See :meth:`JobRepository.start_job`."""
        return self._jobs.start_job(job_id, lease)

    def finish_job(
        self,
        job_id: str,
        status: JobStatus,
        counts: JobCounts,
        errors: list[str],
        source: str | None,
        causes: Sequence[FailureCause] = (),
    ) -> None:
        """See :meth:`JobRepository.finish_job`."""
        self._jobs.finish_job(job_id, status, counts, errors, source, causes)

    def mark_job_enqueued(self, job_id: str, lease: timedelta) -> bool:
        """See :meth:`JobRepository.mark_job_enqueued`."""
        return self._jobs.mark_job_enqueued(job_id, lease)

    def requeue_unsent_job(self, job_id: str, seen_updated_at: datetime, lease: timedelta) -> bool:
        """See :meth:`JobRepository.requeue_unsent_job`."""
        return self._jobs.requeue_unsent_job(job_id, seen_updated_at, lease)

    def fail_unfinished_job(self, job_id: str, reason: str) -> bool:
        """See :meth:`JobRepository.fail_unfinished_job`."""
        return self._jobs.fail_unfinished_job(job_id, reason)

    def claim_job_slot(
        self, request: ScrapeJobRequest, job_id: str, window: timedelta, *, replacing: str | None = None
    ) -> str:
        """See :meth:`JobRepository.claim_job_slot`."""
        return self._jobs.claim_job_slot(request, job_id, window, replacing=replacing)

    # ------------------------------------------------------------------ quota counters and cache

    def spend_quota(self, service: str, day: str, units: int, limit: int) -> int | None:
        """See :meth:`QuotaRepository.spend_quota`."""
        return self._quota.spend_quota(service, day, units, limit)

    def quota_spent(self, service: str, day: str) -> int:
        """See :meth:`QuotaRepository.quota_spent`."""
        return self._quota.quota_spent(service, day)

    def get_cached(self, key: str) -> Any | None:
        """See :meth:`CacheRepository.get_cached`."""
        return self._cache.get_cached(key)

    def put_cached(self, key: str, value: Any, ttl_seconds: int) -> None:
        """See :meth:`CacheRepository.put_cached`."""
        self._cache.put_cached(key, value, ttl_seconds)

    # ------------------------------------------------------------------ live accuracy (kept and settled scores)

    def keep_score(self, score: KeptScore) -> bool:
        """See :meth:`AccuracyRepository.keep`."""
        return self._accuracy.keep(score)

    def open_scores(self, video_id: str) -> list[KeptScore]:
        """See :meth:`AccuracyRepository.open_scores`."""
        return self._accuracy.open_scores(video_id)

    def settle_score(self, settled: SettledScore) -> bool:
        """See :meth:`AccuracyRepository.settle`."""
        return self._accuracy.settle(settled)

    def settled_scores_since(self, since: datetime) -> Iterator[SettledScore]:
        """See :meth:`AccuracyRepository.settled_since`."""
        return self._accuracy.settled_since(since)
