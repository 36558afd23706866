"""Kept scores are settled once, by the first snapshot 18-30 h later, with the benchmark's label."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from miles_core.accuracy.tracking import track_scores
from miles_core.config import DEFAULT_RETENTION_DAYS
from miles_core.observation import Observation
from miles_core.store import Cohort, MilesStore, Score, VideoRecord, keys
from miles_core.store.schema import SORT_KEY, TTL_ATTRIBUTE
from tests.support.moto_table import NOW
from tests.support.video_records import video_record

PUBLISHED = NOW - timedelta(hours=5)


def record(views: int, at: datetime, *, scored: bool = False, cohort: Cohort | None = None) -> VideoRecord:
    """The video item as the scorer reads it from the stream, after a scrape at ``at``."""
    observation = Observation(
        video_id="v1", title="a cat learns to skate", published_at=PUBLISHED, observed_at=at, view_count=views
    )
    score_now = score(record_stats(observation), 0.5, "post_publish") if scored else None
    return video_record(observation, score=score_now, cohort=cohort, last_seen_at=at)


def record_stats(observation: Observation) -> dict[str, object]:
    return {
        "observed_at": observation.observed_at.isoformat() if observation.observed_at else None,
        "view_count": observation.view_count,
        "age_hours": observation.age_hours,
    }


def score(stats: dict[str, object], probability: float, regime: str, model: str = "m1") -> Score:
    return Score(
        viral_probability=probability,
        predicted_velocity_views_per_hour=1000.0,
        is_viral=probability >= 0.5,
        threshold=0.5,
        regime=regime,
        model_version=model,
        scored_at=NOW,
        stats_key="k",
        stats=stats,
    )


def scores_of(video: VideoRecord) -> list[Score]:
    """The two scores the scorer keeps for a newly seen video: its stats' score and its text-only score."""
    stats = record_stats(video.observation)
    return [score(stats, 0.9, "post_publish"), score(stats, 0.2, "pre_publish")]


def test_the_next_day_snapshot_settles_both_scores_once(store: MilesStore) -> None:
    first = record(1_000, NOW, cohort=Cohort.FRESH)
    assert track_scores(store, first, scores_of(first), NOW) == 0
    assert len(store.open_scores("v1")) == 2
    # 6 h later: too early to be the next-day outcome; the scores stay open.
    six = record(50_000, NOW + timedelta(hours=6), scored=True)
    assert track_scores(store, six, [], NOW) == 0
    # 24 h later: both kept scores are settled with the benchmark's label.
    day = record(1_000_000, NOW + timedelta(hours=24), scored=True)
    assert track_scores(store, day, [], NOW + timedelta(hours=24)) == 2
    assert store.open_scores("v1") == []
    # A redelivered record (or a later snapshot inside the window) settles nothing again.
    assert track_scores(store, day, [], NOW + timedelta(hours=24)) == 0
    later = record(1_100_000, NOW + timedelta(hours=26), scored=True)
    assert track_scores(store, later, [], NOW + timedelta(hours=26)) == 0
    settled = list(store.settled_scores_since(NOW))
    assert sorted(s.score.regime for s in settled) == ["post_publish", "pre_publish"]
    for item in settled:
        assert item.score.cohort == "fresh"
        assert item.score.view_count == 1_000
        assert item.score.age_hours == pytest.approx(5.0)
        assert item.outcome_view_count == 1_000_000
        assert item.hours_between == pytest.approx(24.0)
        assert item.velocity_views_per_hour == pytest.approx(999_000 / 24)
        assert item.is_viral
        assert item.is_viral_rel


def test_keeping_the_same_score_twice_keeps_one(store: MilesStore) -> None:
    first = record(10, NOW)
    track_scores(store, first, scores_of(first), NOW)
    track_scores(store, first, scores_of(first), NOW)
    assert len(store.open_scores("v1")) == 2


def test_a_snapshot_past_the_window_settles_nothing(store: MilesStore) -> None:
    first = record(10, NOW)
    track_scores(store, first, scores_of(first), NOW)
    assert track_scores(store, record(20, NOW + timedelta(hours=48), scored=True), [], NOW) == 0
    assert list(store.settled_scores_since(NOW - timedelta(days=1))) == []


def test_the_window_query_counts_by_settling_time(store: MilesStore) -> None:
    first = record(100, NOW)
    track_scores(store, first, scores_of(first), NOW)
    track_scores(store, record(150, NOW + timedelta(hours=20), scored=True), [], NOW + timedelta(days=3))
    assert len(list(store.settled_scores_since(NOW + timedelta(days=3)))) == 2
    assert list(store.settled_scores_since(NOW + timedelta(days=3, seconds=1))) == []


def test_a_never_scored_video_reads_no_open_scores(store: MilesStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_read(video_id: str) -> list[object]:
        raise AssertionError("a first score needs no read")

    monkeypatch.setattr(store, "open_scores", no_read)
    first = record(10, NOW)
    assert track_scores(store, first, scores_of(first), NOW) == 0


def test_a_settled_score_expires_with_the_youtube_data_it_holds(store: MilesStore) -> None:
    """It carries YouTube's view counts: kept for the retention period after the outcome was read, no longer."""
    first = record(100, NOW)
    track_scores(store, first, scores_of(first), NOW)
    outcome_read = NOW + timedelta(hours=24)
    track_scores(store, record(150, outcome_read, scored=True), [], NOW + timedelta(days=2))
    items = store.table.items(
        "scan",
        FilterExpression="begins_with(#sk, :settled)",
        ExpressionAttributeNames={"#sk": SORT_KEY},
        ExpressionAttributeValues={":settled": {"S": keys.SETTLED_PREFIX}},
    )
    expiries = [int(item[TTL_ATTRIBUTE]) for item in items]
    assert expiries == [store.retention.expires(outcome_read)] * 2
    assert store.retention.period == timedelta(days=DEFAULT_RETENTION_DAYS)
