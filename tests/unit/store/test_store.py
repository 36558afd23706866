"""MilesStore against moto: idempotent writes, leaderboards, jobs, cache, throttling."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest

from miles_core.scraping.jobs import new_job
from miles_core.store import (
    InvalidCursorError,
    JobCounts,
    JobStatus,
    MilesStore,
    Score,
    ScoreWriteOutcome,
    Snapshot,
    StoreThrottledError,
    UpsertOutcome,
    VideoRecord,
)
from miles_core.store.dynamo import MAX_ATTEMPTS
from miles_core.store.job_records import ScrapeJobRequest
from miles_core.store.leaderboard_repo import MAX_CANDIDATE_PAGES
from miles_core.store.records import MAX_TOPICS_PER_VIDEO
from miles_core.topics import normalize_topic
from tests.support.moto_table import NOW, TABLE
from tests.support.throttle import Throttle
from tests.support.youtube import video

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

COOKING, BAKING, T = normalize_topic("cooking"), normalize_topic("baking"), normalize_topic("t")
"""Topics as the store receives them: made by the one normalising function, never a raw string."""


def test_upsert_is_idempotent_and_refreshes_stats(store: MilesStore) -> None:
    assert store.upsert_video(video("a", 100), topic=COOKING, run_id="r1") is UpsertOutcome.NEW
    # The same write again in the same run (a redelivery) still counts as new, changes nothing.
    assert store.upsert_video(video("a", 100), topic=COOKING, run_id="r1") is UpsertOutcome.NEW
    assert store.upsert_video(video("a", 500, hours=6, likes=7), topic=BAKING, run_id="r2") is UpsertOutcome.UPDATED
    # An older observation arriving late never rolls the latest stats back.
    assert store.upsert_video(video("a", 50, hours=-1), topic=COOKING, run_id="r0") is UpsertOutcome.STALE
    record = store.get_video("a")
    assert record is not None
    assert record.observation.view_count == 500
    assert record.observation.like_count == 7
    assert record.topics == ("baking", "cooking")
    assert record.score is None


def test_hidden_counts_are_removed_not_zeroed(store: MilesStore) -> None:
    store.upsert_video(video("a", 100, likes=5), topic=T, run_id="r1")
    store.upsert_video(video("a", 200, hours=1, likes=None), topic=T, run_id="r2")
    record = store.get_video("a")
    assert record is not None
    assert record.observation.like_count is None


def test_snapshot_once_per_run(store: MilesStore) -> None:
    first = Snapshot("a", "r1", NOW, video("a", 100).stats, topic=T)
    assert store.append_snapshot(first) is True
    assert store.append_snapshot(first) is False
    assert store.append_snapshot(Snapshot("a", "r2", NOW + timedelta(hours=6), video("a", 300, 6).stats)) is True
    assert [s.stats.view_count for s in store.list_snapshots("a")] == [100, 300]


def stored(store: MilesStore, video_id: str) -> VideoRecord:
    record = store.get_video(video_id)
    assert record is not None
    return record


def _score(record: Any, probability: float, model: str = "m1") -> Score:
    return Score(
        viral_probability=probability,
        predicted_velocity_views_per_hour=1000.0 * probability,
        is_viral=probability > 0.5,
        threshold=0.5,
        regime="post_publish",
        model_version=model,
        scored_at=NOW,
        stats_key=record.stats_key,
    )


def test_leaderboard_order_filters_and_cursor(store: MilesStore) -> None:
    for n, vid in enumerate(["a", "b", "c", "d"]):
        store.upsert_video(video(vid, 100 + n), topic=T, run_id="r1")
        store.add_topic_membership(T, video(vid, 100 + n))
    for vid, probability in (("a", 0.2), ("b", 0.9), ("c", 0.6)):
        record = stored(store, vid)
        assert store.write_score(record, _score(record, probability)) is ScoreWriteOutcome.WRITTEN
    page = store.list_candidates(T, limit=2)
    assert [c.video_id for c in page.items] == ["b", "c"]
    assert page.next_cursor
    rest = store.list_candidates(T, limit=10, cursor=page.next_cursor)
    assert [c.video_id for c in rest.items] == ["a", "d"]  # unscored stays visible, last
    assert rest.items[1].score is None
    assert rest.next_cursor is None
    filtered = store.list_candidates(T, limit=10, min_probability=0.5)
    assert [c.video_id for c in filtered.items] == ["b", "c"]
    with pytest.raises(InvalidCursorError):
        store.list_candidates(normalize_topic("other"), cursor=page.next_cursor)
    with pytest.raises(InvalidCursorError):
        store.list_candidates(T, cursor="not-a-cursor!")


class CountingClient:
    """The moto client, counting the calls of each operation."""

    def __init__(self, client: DynamoDBClient) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()

    def as_client(self) -> DynamoDBClient:
        """This proxy where a client is expected: every method it is asked for is the client's own, counted."""
        return cast("DynamoDBClient", self)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def counted(**kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(**kwargs)

        return counted


def test_a_sparse_filter_reads_a_bounded_number_of_pages_and_returns_the_cursor(aws: dict[str, Any]) -> None:
    store = MilesStore(aws["dynamodb"], TABLE)
    for n in range(30):
        vid = f"v{n:02d}"
        store.upsert_video(video(vid, 100 + n), topic=T, run_id="r1")
        store.add_topic_membership(T, video(vid, 100 + n))
        record = stored(store, vid)
        store.write_score(record, _score(record, 0.5))
    counting = CountingClient(aws["dynamodb"])
    reader = MilesStore(counting.as_client(), TABLE)
    cursor: str | None = None
    requests = 0
    while True:  # limit=1&min_probability=1.0: nothing matches, every row is read once
        page = reader.list_candidates(T, limit=1, min_probability=1.0, cursor=cursor)
        requests += 1
        assert counting.calls["query"] <= MAX_CANDIDATE_PAGES * requests  # bounded per request
        assert page.items == []
        cursor = page.next_cursor
        if cursor is None:
            break
    assert requests == -(-30 // MAX_CANDIDATE_PAGES)  # 30 rows, at most 3 per request
    assert counting.calls["query"] <= 30 + MAX_CANDIDATE_PAGES


def test_youtube_data_expires_after_the_retention_period(aws: dict[str, Any]) -> None:
    store = MilesStore(aws["dynamodb"], TABLE, clock=lambda: NOW, retention_days=30)
    store.upsert_video(video("a", 1), topic=T, run_id="r1")
    store.append_snapshot(Snapshot("a", "r1", NOW, video("a", 1).stats))
    store.add_topic_membership(T, video("a", 1))
    record = stored(store, "a")
    store.write_score(record, _score(record, 0.5))
    expected = int((NOW + timedelta(days=30)).timestamp())
    table = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    youtube_items = [i for i in table if i["kind"]["S"] in {"video", "snapshot", "topic_member"}]
    assert len(youtube_items) == 3
    assert {int(i["expires_at"]["N"]) for i in youtube_items} == {expected}


def test_score_write_is_conditional_on_current_stats(store: MilesStore) -> None:
    store.upsert_video(video("a", 100), topic=T, run_id="r1")
    old = stored(store, "a")
    store.upsert_video(video("a", 900, hours=3), topic=T, run_id="r2")
    assert store.write_score(old, _score(old, 0.4)) is ScoreWriteOutcome.STALE
    current = stored(store, "a")
    assert store.write_score(current, _score(current, 0.4)) is ScoreWriteOutcome.WRITTEN
    assert store.write_score(current, _score(current, 0.4)) is ScoreWriteOutcome.STALE  # same model + stats
    score = stored(store, "a").score
    assert score is not None
    assert score.viral_probability == pytest.approx(0.4)


def test_jobs_lifecycle(store: MilesStore) -> None:
    job = new_job(ScrapeJobRequest(normalize_topic("  Cooking   Hacks ")), "job-1", trigger="api", now=NOW)
    assert store.create_job(job) is True
    assert store.create_job(job) is False  # idempotent: a retried producer records nothing twice
    queued = store.get_job("job-1")
    assert queued is not None
    assert queued.request.topic == "cooking hacks"
    assert queued.status is JobStatus.QUEUED
    assert store.start_job("job-1", lease=timedelta(minutes=10)).attempts == 1
    store.finish_job("job-1", JobStatus.PARTIAL, JobCounts(found=3, new=2, updated=0, failed=1), ["x"], "ytdlp")
    stored = store.get_job("job-1")
    assert stored is not None
    assert stored.as_public_dict()["counts"] == {"found": 3, "new": 2, "updated": 0, "failed": 1}
    assert stored.errors == ("x",)
    assert stored.status is JobStatus.PARTIAL
    assert store.get_job("nope") is None


def test_a_running_job_past_its_lease_reads_as_failed(aws: dict[str, Any]) -> None:
    clock = {"now": NOW}
    store = MilesStore(aws["dynamodb"], TABLE, clock=lambda: clock["now"])
    store.create_job(new_job(ScrapeJobRequest(normalize_topic("cats")), "job-1", trigger="api", now=NOW))
    started = store.start_job("job-1", lease=timedelta(seconds=600))
    assert started.lease_expires_at == NOW + timedelta(seconds=600)
    clock["now"] = NOW + timedelta(seconds=599)
    job = store.get_job("job-1")
    assert job is not None
    assert job.status is JobStatus.RUNNING
    clock["now"] = NOW + timedelta(seconds=601)  # the worker died or was cut at its timeout
    job = store.get_job("job-1")
    assert job is not None
    assert job.status is JobStatus.FAILED
    assert job.errors[-1].startswith("timed out")
    assert job.as_public_dict()["status"] == "failed"  # what GET /scrape/jobs/{id} answers


def test_only_unfinished_jobs_are_failed_from_the_dlq(store: MilesStore) -> None:
    for job_id in ("queued", "done"):
        store.create_job(new_job(ScrapeJobRequest(normalize_topic("cats")), job_id, trigger="api", now=NOW))
    store.finish_job("done", JobStatus.SUCCEEDED, JobCounts(found=1, new=1), [], "ytdlp")
    assert store.fail_unfinished_job("queued", "dead-lettered") is True
    assert store.fail_unfinished_job("done", "dead-lettered") is False  # a finished job keeps its outcome
    assert store.fail_unfinished_job("unknown", "dead-lettered") is False
    failed = store.get_job("queued")
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.errors == ("dead-lettered",)
    done = store.get_job("done")
    assert done is not None
    assert done.status is JobStatus.SUCCEEDED


def test_job_slot_is_held_for_its_window(aws: dict[str, Any]) -> None:
    clock = {"now": NOW}
    store = MilesStore(aws["dynamodb"], TABLE, clock=lambda: clock["now"])
    request = ScrapeJobRequest(normalize_topic("Cats"), 20, 180)
    window = timedelta(minutes=10)
    assert store.claim_job_slot(request, "a", window) == "a"
    assert store.claim_job_slot(request, "b", window) == "a"
    assert store.claim_job_slot(ScrapeJobRequest(normalize_topic("Cats"), 20, None), "d", window) == "d"  # own slot
    assert store.claim_job_slot(request, "b", window, replacing="a") == "b"
    clock["now"] = NOW + timedelta(minutes=11)
    assert store.claim_job_slot(request, "c", window) == "c"  # the window passed


def test_quota_counter_is_atomic_and_bounded(store: MilesStore) -> None:
    assert store.quota_spent("yt", "2026-08-21") == 0
    assert store.spend_quota("yt", "2026-08-21", 100, 250) == 100
    assert store.spend_quota("yt", "2026-08-21", 100, 250) == 200
    assert store.spend_quota("yt", "2026-08-21", 100, 250) is None  # would pass the budget: nothing counted
    assert store.spend_quota("yt", "2026-08-21", 50, 250) == 250
    assert store.quota_spent("yt", "2026-08-21") == 250
    assert store.spend_quota("yt", "2026-08-22", 100, 250) == 100  # a new UTC day, a new counter


def test_cache_with_ttl(aws: dict[str, Any]) -> None:
    clock = {"now": NOW}
    store = MilesStore(aws["dynamodb"], TABLE, clock=lambda: clock["now"])
    assert store.get_cached("k") is None
    store.put_cached("k", {"ideas": [1, 2]}, ttl_seconds=60)
    assert store.get_cached("k") == {"ideas": [1, 2]}
    clock["now"] = NOW + timedelta(seconds=61)
    assert store.get_cached("k") is None  # expired even before DynamoDB's lazy TTL delete


def test_a_throttled_write_is_retried_by_botocore_alone(aws: dict[str, Any]) -> None:
    throttle = Throttle(aws["dynamodb"], "UpdateItem", failures=2)
    store = MilesStore(aws["dynamodb"], TABLE)
    assert store.upsert_video(video("a", 1), topic=T, run_id="r1") is UpsertOutcome.NEW
    assert throttle.throttled == 2
    assert throttle.sent == 3  # botocore's two retries, and no second layer on top
    assert store.get_video("a") is not None


def test_throttling_past_botocores_attempts_raises_instead_of_losing_the_write(aws: dict[str, Any]) -> None:
    throttle = Throttle(aws["dynamodb"], "PutItem", failures=100)
    store = MilesStore(aws["dynamodb"], TABLE)
    with pytest.raises(StoreThrottledError, match=f"after {MAX_ATTEMPTS} attempts"):
        store.append_snapshot(Snapshot("a", "r1", NOW, video("a", 1).stats))
    assert throttle.sent == MAX_ATTEMPTS == 3  # 3 tries in all, not 3 x 6
    assert store.list_snapshots("a") == []


def test_a_video_joins_a_bounded_number_of_topics_and_scores_that_many_rows(aws: dict[str, Any]) -> None:
    counting = CountingClient(aws["dynamodb"])
    store = MilesStore(counting.as_client(), TABLE, clock=lambda: NOW)
    topics = [normalize_topic(f"topic {n}") for n in range(MAX_TOPICS_PER_VIDEO + 3)]
    outcomes = []
    for n, topic in enumerate(topics):
        outcome = store.upsert_video(video("a", 100 + n, hours=n), topic=topic, run_id=f"r{n}")
        outcomes.append(outcome)
        if outcome is not UpsertOutcome.UPDATED_OFF_TOPIC:
            store.add_topic_membership(topic, video("a", 100 + n, hours=n))
    assert outcomes[:2] == [UpsertOutcome.NEW, UpsertOutcome.UPDATED]
    assert outcomes[MAX_TOPICS_PER_VIDEO:] == [UpsertOutcome.UPDATED_OFF_TOPIC] * 3
    record = stored(store, "a")
    assert sorted(record.topics) == sorted(topics[:MAX_TOPICS_PER_VIDEO])  # the first ones it was found under
    assert record.observation.view_count == 100 + len(topics) - 1  # an off-topic write still refreshes the stats
    # A topic it already holds is refreshed, not refused; an older observation is still stale.
    assert store.upsert_video(video("a", 500, hours=20), topic=topics[0], run_id="r20") is UpsertOutcome.UPDATED
    assert store.upsert_video(video("a", 1, hours=-5), topic=topics[-1], run_id="r0") is UpsertOutcome.STALE
    store.write_score(stored(store, "a"), _score(stored(store, "a"), 0.7))
    scored = [store.list_candidates(topic, limit=5).items for topic in topics]
    assert [len(rows) for rows in scored] == [1] * MAX_TOPICS_PER_VIDEO + [0] * 3  # no row on a refused topic
    assert all(rows[0].score is not None for rows in scored[:MAX_TOPICS_PER_VIDEO])


def test_a_rewrite_of_old_youtube_data_keeps_its_original_expiry(aws: dict[str, Any]) -> None:
    """The catalog source re-writes stored videos: data read 20 days ago still expires 30 days after that read."""
    store = MilesStore(aws["dynamodb"], TABLE, clock=lambda: NOW + timedelta(days=20), retention_days=30)
    old = video("a", 1)  # observed at NOW
    store.upsert_video(old, topic=T, run_id="catalog-job")
    store.append_snapshot(Snapshot("a", "catalog-job", NOW + timedelta(days=20), old.stats))
    store.add_topic_membership(T, old)
    record = stored(store, "a")
    store.write_score(record, _score(record, 0.5))
    table = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    youtube_items = [i for i in table if i["kind"]["S"] in {"video", "snapshot", "topic_member"}]
    assert len(youtube_items) == 3
    assert {int(i["expires_at"]["N"]) for i in youtube_items} == {int((NOW + timedelta(days=30)).timestamp())}


def test_a_score_without_leaderboard_rows_is_one_conditional_update(aws: dict[str, Any]) -> None:
    """A transaction costs twice the write units of the same writes: one item needs none."""
    counting = CountingClient(aws["dynamodb"])
    store = MilesStore(counting.as_client(), TABLE)
    store.upsert_video(video("a", 100), topic=None, run_id="r1")
    record = stored(store, "a")
    assert store.write_score(record, _score(record, 0.4)) is ScoreWriteOutcome.WRITTEN
    assert store.write_score(record, _score(record, 0.4)) is ScoreWriteOutcome.STALE  # still exactly once
    assert counting.calls["transact_write_items"] == 0
    assert counting.calls["update_item"] == 3  # the upsert and both score writes
    score = stored(store, "a").score
    assert score is not None
    assert score.viral_probability == pytest.approx(0.4)


def test_a_score_writes_each_rows_relevance_and_the_board_filters_by_it(store: MilesStore) -> None:
    t, u = T, normalize_topic("u")
    for vid, on_topic in (("a", 0.8), ("b", 0.2), ("c", None)):
        store.upsert_video(video(vid, 100), topic=t, run_id="r1")
        store.upsert_video(video(vid, 100), topic=u, run_id="r1")
        for topic in (t, u):
            store.add_topic_membership(topic, video(vid, 100))
        record = stored(store, vid)
        store.write_score(record, _score(record, 0.5), {t: on_topic, u: 0.9})
    store.upsert_video(video("d", 100), topic=t, run_id="r1")
    store.add_topic_membership(t, video("d", 100))  # unscored: relevance not measured yet
    board = {c.video_id: c.relevance for c in store.list_candidates(t, limit=10).items}
    assert board == {"a": 0.8, "b": 0.2, "c": None, "d": None}
    assert [c.video_id for c in store.list_candidates(t, limit=10, min_relevance=0.45).items] == ["a"]
    assert {c.video_id for c in store.list_candidates(u, limit=10, min_relevance=0.45).items} == {"a", "b", "c"}
    record = stored(store, "a")
    store.write_score(record, _score(record, 0.6, model="m2"), {t: None})  # another encoder: not comparable
    assert store.list_candidates(t, limit=10, min_relevance=0.45).items == []  # the old measure is removed
