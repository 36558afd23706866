"""The fresh-uploads cohort on recorded Data API responses: what is asked, what is stored, what it costs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from miles_core.scraping.base import SearchQuery
from miles_core.scraping.quota import SERVICE, DailyQuota
from miles_core.scraping.schedule import run_scheduled
from miles_core.scraping.youtube_api import YouTubeDataApiSource, map_video_resource, parse_iso8601_duration
from miles_core.scraping.ytdlp import YtDlpSource, search_url
from miles_core.store import Cohort, MilesStore, iso
from miles_core.topics import normalize_topic
from tests.support.youtube import FRESH_FIXTURES, FakeYoutubeDL, FreshUploadsApi, ytdlp_info, ytdlp_search_result

TICK = datetime(2026, 10, 9, 6, 0, tzinfo=UTC)
FUNNY_ANIMALS = normalize_topic("funny animals")


def recorded(resource: str, moment: datetime) -> dict[str, Any]:
    path = FRESH_FIXTURES / f"{resource}_list_fresh_{moment:%Y%m%dT%H%MZ}.json"
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return body


@pytest.fixture
def fresh_api() -> Any:
    api = FreshUploadsApi(lambda: TICK)
    yield api
    api.close()


def test_fresh_search_asks_for_the_newest_short_uploads_and_reads_channel_sizes(fresh_api: FreshUploadsApi) -> None:
    source = YouTubeDataApiSource("k", base_url=fresh_api.base_url, clock=lambda: TICK)
    result = source.search(SearchQuery(FUNNY_ANIMALS, max_results=20, cohort=Cohort.FRESH))
    (search,) = [q for p, q, _ in fresh_api.requests if p.endswith("/search")]
    assert search["order"] == ["date"]
    assert search["videoDuration"] == ["short"]
    assert search["publishedAfter"] == [iso(TICK - timedelta(hours=6))]
    (channels,) = [q for p, q, _ in fresh_api.requests if p.endswith("/channels")]
    assert channels["part"] == ["statistics"]
    assert source.quota_used == 100 + 1 + 1  # one search page, one videos.list, one channels.list

    videos = recorded("videos", TICK)["items"]
    sizes = {c["id"]: c["statistics"] for c in recorded("channels", TICK)["items"]}
    long_ids = {v["id"] for v in videos if _seconds(v) > 180}
    assert {v.video_id for v in result.videos}.isdisjoint(long_ids)  # the Shorts cap still applies
    assert len(result.videos) == min(20, len(videos) - len(long_ids))
    hidden = [v for v in result.videos if sizes[v.observation.channel_id or ""]["hiddenSubscriberCount"]]
    shown = [v for v in result.videos if not sizes[v.observation.channel_id or ""]["hiddenSubscriberCount"]]
    assert shown
    for video in shown:
        assert video.observation.channel_follower_count == int(
            sizes[video.observation.channel_id or ""]["subscriberCount"]
        )
        assert video.channel_subscribers_read_at == TICK
        assert video.observation.duration_seconds is not None
    for video in hidden:  # a hidden count is unknown, never zero
        assert video.observation.channel_follower_count is None
        assert video.channel_subscribers_read_at is None


def _seconds(item: dict[str, Any]) -> float:
    return parse_iso8601_duration(item["contentDetails"]["duration"]) or 0.0


def test_a_scheduled_tick_stores_cohort_duration_and_channel_size_within_the_daily_quota(
    store: MilesStore, fresh_api: FreshUploadsApi
) -> None:
    quota = DailyQuota(store, daily_budget=9000, clock=lambda: TICK)
    source = YouTubeDataApiSource("k", base_url=fresh_api.base_url, clock=lambda: TICK, spend=quota.spend)
    outcomes = run_scheduled(store, [source], iso(TICK), niches=[FUNNY_ANIMALS])
    assert [o.status.value for o in outcomes] == ["succeeded", "succeeded"]
    top, fresh = outcomes
    assert top.counts.found == 0  # these recordings hold fresh uploads only
    assert fresh.counts.new > 0
    # top: one search page (no ids, nothing else); fresh: search + videos.list + channels.list
    assert store.quota_spent(SERVICE, iso(TICK)[:10]) == 100 + (100 + 1 + 1)
    sizes = {c["id"]: c["statistics"] for c in recorded("channels", TICK)["items"]}
    stored = [store.get_video(item["id"]) for item in recorded("videos", TICK)["items"]]
    kept = [record for record in stored if record is not None]
    assert len(kept) == fresh.counts.new
    for record in kept:
        assert record.cohort is Cohort.FRESH
        assert record.observation.duration_seconds is not None
        assert record.observation.duration_seconds <= 180
        statistics = sizes[record.observation.channel_id or ""]
        if statistics["hiddenSubscriberCount"]:
            assert record.observation.channel_follower_count is None
        else:
            assert record.observation.channel_follower_count == int(statistics["subscriberCount"])
            assert record.channel_subscribers_read_at == TICK


def test_a_fresh_upload_found_again_at_the_top_stays_in_the_fresh_cohort(store: MilesStore) -> None:
    item = recorded("videos", TICK)["items"][0]
    video = replace(map_video_resource(item, TICK), cohort=Cohort.FRESH)
    store.upsert_video(video, topic=FUNNY_ANIMALS, run_id="r1")
    later = replace(map_video_resource(item, TICK + timedelta(hours=6)), cohort=Cohort.TOP)
    store.upsert_video(later, topic=FUNNY_ANIMALS, run_id="r2")
    record = store.get_video(video.video_id)
    assert record is not None
    assert record.cohort is Cohort.FRESH
    assert record.stats.observed_at == TICK + timedelta(hours=6)


def test_ytdlp_fresh_search_reads_the_date_sorted_short_filter_and_drops_older_uploads() -> None:
    query = SearchQuery(FUNNY_ANIMALS, max_results=5, cohort=Cohort.FRESH)
    url = search_url(query, 10)
    assert url.startswith("https://www.youtube.com/results?search_query=funny+animals&sp=")
    assert search_url(SearchQuery(FUNNY_ANIMALS), 10) == "ytsearch10:funny animals"
    now = datetime(2026, 8, 20, 10, 0, tzinfo=UTC)  # ytdlp_info's upload is 2026-08-20T08:00Z
    fresh = ytdlp_info("fresh0000001")
    old = ytdlp_info("old00000001", timestamp=int((now - timedelta(hours=30)).timestamp()), upload_date="20260819")
    calls: list[str] = []
    responses: dict[str, Any] = {
        url: ytdlp_search_result("funny animals", [fresh, old]),
        "https://www.youtube.com/watch?v=fresh0000001": fresh,
        "https://www.youtube.com/watch?v=old00000001": old,
    }
    options: list[dict[str, Any]] = []

    def factory(opts: dict[str, Any]) -> FakeYoutubeDL:
        options.append(opts)
        return FakeYoutubeDL(responses, opts, calls)

    source = YtDlpSource(ydl_factory=factory, sleep=lambda _: None, clock=lambda: now)
    result = source.search(query)
    assert calls[0] == url
    assert options[0]["playlistend"] == 10
    assert [v.video_id for v in result.videos] == ["fresh0000001"]
    assert result.videos[0].channel_subscribers_read_at == now
