"""Binds the recommender's ports to ``miles_core.store.MilesStore`` (the DynamoDB single table).

The store owns the key layout; this module only translates between its records and the
recommender's :class:`~miles_core.recommend.models.Candidate`, and decides how a recommendation
asks for a scrape (a job record, deduplicated per topic and hour, plus an optional enqueue hook).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from miles_core.recommend.models import Candidate
from miles_core.store import JobStatus, MilesStore, ScrapeJob, ScrapeJobRequest, VideoRecord
from miles_core.topics import normalize_topic

log = logging.getLogger(__name__)

JOB_TRIGGER = "recommend"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StoreCandidateSource:
    """Top candidates from a topic's leaderboard, enriched with each video's tags/duration/category.

    The leaderboard rows carry title, channel, publish time and score; tags, duration and category
    live on the video item, hence one GetItem per candidate (at most ``limit``, i.e. tens).
    """

    def __init__(self, store: MilesStore) -> None:
        self.store = store

    def top_candidates(self, topic: str, limit: int) -> list[Candidate]:
        page = self.store.list_candidates(topic, limit=limit)
        candidates: list[Candidate] = []
        for row in page.items:
            video: VideoRecord | None = self.store.get_video(row.video_id)
            obs = video.observation if video is not None else None
            score = row.score
            candidates.append(
                Candidate(
                    video_id=row.video_id,
                    title=row.title,
                    tags=obs.tags if obs is not None else (),
                    duration_seconds=obs.duration_seconds if obs is not None else None,
                    published_at=row.published_at,
                    viral_probability=score.viral_probability if score is not None else None,
                    predicted_velocity_views_per_hour=(
                        score.predicted_velocity_views_per_hour if score is not None else None
                    ),
                    channel_id=row.channel_id,
                    channel_title=row.channel_title,
                    category_id=obs.category_id if obs is not None else None,
                    view_count=row.stats.view_count,
                )
            )
        return candidates


class StoreResultCache:
    """The store's TTL cache items (``get_cached`` / ``put_cached``)."""

    def __init__(self, store: MilesStore) -> None:
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        value = self.store.get_cached(key)
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        self.store.put_cached(key, value, ttl_seconds)


Enqueue = Callable[[ScrapeJob], None]
"""Hands a recorded job to the scrape worker (SQS in AWS); owned by the scrape area."""


class StoreScrapeRequester:
    """Records a scrape job for a topic; at most one per topic and UTC hour.

    The job id is derived from (topic, hour), so a burst of recommendation requests for a cold
    topic creates one job, not one per request; later requests get the same job id back.
    """

    def __init__(self, store: MilesStore, enqueue: Enqueue | None = None, clock: Callable[[], datetime] = _utcnow):
        self.store = store
        self.enqueue = enqueue
        self.clock = clock

    def job_id_for(self, topic: str, now: datetime) -> str:
        digest = hashlib.sha256(normalize_topic(topic).encode("utf-8")).hexdigest()[:16]
        return f"rec-{now.astimezone(UTC):%Y%m%d%H}-{digest}"

    def request_scrape(self, topic: str) -> str:
        now = self.clock()
        job_id = self.job_id_for(topic, now)
        existing = self.store.get_job(job_id)
        if existing is not None:
            return existing.job_id
        job = ScrapeJob(
            job_id=job_id,
            request=ScrapeJobRequest(topic=normalize_topic(topic)),
            status=JobStatus.QUEUED,
            created_at=now,
            updated_at=now,
            trigger=JOB_TRIGGER,
        )
        recorded = self.store.create_job(job)
        if recorded and self.enqueue is not None:
            self.enqueue(job)
        elif self.enqueue is None:
            log.warning("scrape job %s recorded but no enqueue hook is configured", job_id)
        return job_id


def sqs_enqueue(queue_url: str, sqs: Any | None = None) -> Enqueue:
    """An :data:`Enqueue` that sends the job to the scrape job queue, in the scrape area's message format."""
    from functools import partial

    from miles_core.scraping.queue import enqueue_job

    if sqs is None:
        import boto3

        sqs = boto3.client("sqs")
    return partial(enqueue_job, sqs, queue_url)
