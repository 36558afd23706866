"""Binds the recommender's ports to ``miles_core.store.MilesStore`` (the DynamoDB single table).

The store owns the key layout; this module only translates between its records and the
recommender's :class:`~miles_core.recommend.ideas.Candidate`. A recommendation asks for a scrape
like ``POST /scrape/jobs`` does (:func:`~miles_core.scraping.jobs.submit_deduplicated`), so the two
share one job for a topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from miles_core.recommend.patterns import Candidate
from miles_core.scraping.jobs import new_job, submit_deduplicated
from miles_core.scraping.queue import Enqueue
from miles_core.store import MilesStore, ScrapeJobRequest, VideoRecord
from miles_core.topics import Topic

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

    def top_candidates(self, topic: Topic, limit: int) -> list[Candidate]:
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
                    observed_at=row.stats.observed_at,
                    text_embedding=score.text_embedding if score is not None else None,
                )
            )
        return candidates

    def view_history(self, video_id: str) -> list[tuple[datetime, int]]:
        return [
            (s.stats.observed_at, s.stats.view_count)
            for s in self.store.list_snapshots(video_id)
            if s.stats.view_count is not None
        ]


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
    """Records and enqueues a scrape job for a topic (the default limits), deduplicated like ``POST /scrape/jobs``.

    A burst of recommendation requests for a cold topic, or a recommendation and an API call for it,
    share one job within :data:`~miles_core.scraping.jobs.DEDUPE_WINDOW`: later requests get its id back.
    """

    def __init__(self, store: MilesStore, enqueue: Enqueue, clock: Callable[[], datetime] = _utcnow):
        self.store = store
        self.enqueue = enqueue
        self.clock = clock

    def request_scrape(self, topic: Topic) -> str:
        """The id of the job serving ``topic`` (recorded and enqueued when no live one holds its slot)."""
        job = new_job(ScrapeJobRequest(topic=topic), uuid.uuid4().hex, trigger=JOB_TRIGGER, now=self.clock())
        serving, _ = submit_deduplicated(self.store, job, self.enqueue)
        return serving.job_id
