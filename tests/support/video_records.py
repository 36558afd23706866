"""The video item as the stream scorer reads it, built directly for tests that need no table."""

from __future__ import annotations

from datetime import datetime

from miles_core.observation import Observation
from miles_core.store import Cohort, Score, ScrapedVideo, VideoRecord
from tests.support.moto_table import NOW


def video_record(
    observation: Observation,
    *,
    stats_key: str | None = None,
    score: Score | None = None,
    cohort: Cohort | None = None,
    last_seen_at: datetime | None = None,
) -> VideoRecord:
    """A video item holding ``observation`` as its latest stats (stats key as a scrape computes it, unless given)."""
    assert observation.video_id is not None
    return VideoRecord(
        video_id=observation.video_id,
        observation=observation,
        source="test",
        thumbnail_url=None,
        webpage_url=None,
        topics=(),
        first_seen_at=NOW,
        last_seen_at=last_seen_at or NOW,
        stats_key=stats_key or ScrapedVideo(observation, "test").stats.key,
        score=score,
        cohort=cohort,
    )
