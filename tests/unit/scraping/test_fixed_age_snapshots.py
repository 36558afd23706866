"""The fixed-age re-snapshot job on recorded Data API responses: ages, idempotency, quota, misses."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from miles_core.scraping.fixed_age_snapshots import run_fixed_age_snapshots, tolerance
from miles_core.scraping.quota import SERVICE, DailyQuota
from miles_core.scraping.schedule import run_scheduled
from miles_core.scraping.youtube_api import YouTubeDataApiSource
from miles_core.store import MilesStore, iso
from miles_core.topics import normalize_topic
from tests.support.youtube import FreshUploadsApi

DAY1 = datetime(2026, 10, 9, 6, 0, tzinfo=UTC)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock(DAY1)


@pytest.fixture
def api(clock: Clock) -> Any:
    server = FreshUploadsApi(clock)
    yield server
    server.close()


def source(api: FreshUploadsApi, store: MilesStore, clock: Clock) -> YouTubeDataApiSource:
    quota = DailyQuota(store, daily_budget=9000, clock=clock)
    return YouTubeDataApiSource("k", base_url=api.base_url, clock=clock, spend=quota.spend)


def fixed_age_snapshots(store: MilesStore, video_ids: list[str]) -> Counter[int | None]:
    return Counter(s.fixed_age_hours for v in video_ids for s in store.list_snapshots(v))


def test_tracked_videos_are_read_at_each_fixed_age_once_within_the_quota(
    store: MilesStore, api: FreshUploadsApi, clock: Clock
) -> None:
    reader = source(api, store, clock)
    (top, fresh) = run_scheduled(store, [reader], iso(DAY1), niches=[normalize_topic("funny animals")])
    recorded = api.recording("videos")
    assert recorded is not None
    stored = [v for v in (store.get_video(item["id"]) for item in recorded["items"]) if v is not None]
    ids = [v.video_id for v in stored]
    assert len(ids) == fresh.counts.new > 0
    # every fresh upload was first seen before its 1 h age: all four ages are ahead of it
    assert all(v.observation.age_hours is not None and v.observation.age_hours < 1 for v in stored)
    spent_by_tick = store.quota_spent(SERVICE, "2026-10-09")

    runs = [
        (datetime(2026, 10, 9, 6, 45, tzinfo=UTC), 1),
        (datetime(2026, 10, 9, 11, 45, tzinfo=UTC), 6),
        (datetime(2026, 10, 10, 5, 45, tzinfo=UTC), 24),
    ]
    for moment, age in runs:
        clock.moment = moment
        outcome = run_fixed_age_snapshots(store, reader, moment)
        assert (outcome.taken, outcome.missed, outcome.gone, outcome.errors) == (len(ids), 0, 0, [])
        assert outcome.quota_units == 2  # one videos.list and one channels.list for up to 50 ids each
        again = run_fixed_age_snapshots(store, reader, moment)  # a retried invocation: nothing due, nothing spent
        assert (again.due, again.taken, again.quota_units) == (0, 0, 0)
        for video_id in ids:
            (snapshot,) = [s for s in store.list_snapshots(video_id) if s.fixed_age_hours == age]
            record = store.get_video(video_id)
            assert record is not None
            assert record.observation.published_at is not None
            assert snapshot.run_at == record.observation.published_at + timedelta(hours=age)
            assert snapshot.stats.observed_at == moment  # read when the job ran, within the tolerance
            assert timedelta(0) <= moment - snapshot.run_at <= tolerance(age)
            assert record.stats.observed_at == moment  # the video item was refreshed too
    assert fixed_age_snapshots(store, ids) == Counter({None: len(ids), 1: len(ids), 6: len(ids), 24: len(ids)})
    assert store.quota_spent(SERVICE, "2026-10-09") == spent_by_tick + 2 + 2
    assert store.quota_spent(SERVICE, "2026-10-10") == 2
    assert store.fixed_ages.due(datetime(2026, 10, 11, 6, 0, tzinfo=UTC), timedelta(hours=13))  # 48 h ahead
    assert top.counts.found == 0


def test_a_snapshot_the_job_could_not_take_in_time_is_missed_and_a_deleted_video_is_gone(
    store: MilesStore, api: FreshUploadsApi, clock: Clock
) -> None:
    reader = source(api, store, clock)
    run_scheduled(store, [reader], iso(DAY1), niches=[normalize_topic("funny animals")])
    published = DAY1 - timedelta(minutes=30)
    store.fixed_ages.schedule("gone0000001", [(1, published + timedelta(hours=1), tolerance(1))])
    clock.moment = datetime(2026, 10, 9, 6, 45, tzinfo=UTC)
    outcome = run_fixed_age_snapshots(store, reader, clock.moment)
    assert outcome.gone == 1  # the API no longer returns it
    # nobody ran the job for the 6 h readings until after their 1.5 h tolerance
    clock.moment = late = datetime(2026, 10, 9, 13, 15, tzinfo=UTC)
    outcome = run_fixed_age_snapshots(store, reader, late)
    assert outcome.taken == 0
    assert outcome.missed == outcome.due > 0
    assert outcome.quota_units == 0  # nothing read late
    assert run_fixed_age_snapshots(store, reader, late).due == 0  # settled once


def test_without_a_data_api_reader_the_entries_wait(store: MilesStore) -> None:
    due_at = DAY1 + timedelta(hours=1)
    store.fixed_ages.schedule("abc00000001", [(1, due_at, tolerance(1))])
    outcome = run_fixed_age_snapshots(store, None, due_at + timedelta(minutes=5))
    assert outcome.taken == 0
    assert "MILES_YOUTUBE_SECRET_ID" in outcome.errors[0]
    assert len(store.fixed_ages.due(due_at + timedelta(minutes=10), timedelta(hours=1))) == 1
