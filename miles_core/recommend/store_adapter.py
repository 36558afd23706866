"""Binds the recommender's ports to ``miles_core.store.MilesStore`` (the DynamoDB single table).

The store owns the key layout; this module only translates between its records and the
recommender's :class:`~miles_core.recommend.models.Candidate`, and decides how a recommendation
asks for a scrape (one job per topic and hour, submitted like every other scrape job).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from miles_core.recommend.models import Candidate
from miles_core.scraping.jobs import new_job, submit_job
from miles_core.scraping.queue import Enqueue
from miles_core.store import MilesStore, ScrapeJobRequest, VideoRecord
from miles_core.topics import normalize_topic

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


class StoreScrapeRequester:
    """Records and enqueues a scrape job for a topic; at most one per topic and UTC hour.

    The job id is derived from (topic, hour), so a burst of recommendation requests for a cold
    topic creates one job, not one per request; later requests get the same job id back. Recording
    and enqueueing is :func:`miles_core.scraping.jobs.submit_job`, the same as ``POST /scrape/jobs``.
    """

    def __init__(self, store: MilesStore, enqueue: Enqueue, clock: Callable[[], datetime] = _utcnow):
        self.store = store
        self.enqueue = enqueue
        self.clock = clock

    def job_id_for(self, topic: str, now: datetime) -> str:
        digest = hashlib.sha256(normalize_topic(topic).encode("utf-8")).hexdigest()[:16]
        return f"rec-{now.astimezone(UTC):%Y%m%d%H}-{digest}"

    def request_scrape(self, topic: str) -> str:
        """The job id for ``topic`` this hour (recorded and enqueued the first time it is asked for)."""
        now = self.clock()
        job = new_job(ScrapeJobRequest(topic=topic), self.job_id_for(topic, now), trigger=JOB_TRIGGER, now=now)
        submit_job(self.store, job, self.enqueue)
        return job.job_id
