"""The two sources on recorded data: real videos.list responses over loopback HTTP, yt-dlp info dicts."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from yt_dlp.utils import DownloadError

from miles_core.scraping.base import BotCheckError, QuotaExceededError, SearchQuery, SourceConfigError
from miles_core.scraping.sanitize import clean_title
from miles_core.scraping.sources import sources_from_env
from miles_core.scraping.youtube_api import YouTubeDataApiSource, map_video_resource, parse_iso8601_duration
from miles_core.scraping.ytdlp import YtDlpSource, map_info_dict
from miles_core.topics import Topic
from tests.support.moto_table import NOW
from tests.support.youtube import FakeYoutubeDL, RecordedYouTubeApi, recorded_items, ytdlp_info, ytdlp_search_result


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT1M1S", 61.0), ("PT59S", 59.0), ("PT1H2M", 3720.0), ("P1DT1S", 86401.0), ("P0D", 0.0), ("bogus", None)],
)
def test_iso8601_durations(text: str, seconds: float | None) -> None:
    assert parse_iso8601_duration(text) == seconds


def test_every_recorded_item_maps_to_an_observation() -> None:
    items = recorded_items("US") + recorded_items("GB")
    hidden_likes = [i for i in items if "likeCount" not in i["statistics"]]
    for item in items:
        video = map_video_resource(item, NOW)
        obs = video.observation
        assert obs.video_id == item["id"]
        assert obs.view_count == int(item["statistics"]["viewCount"])
        assert obs.category_id == int(item["snippet"]["categoryId"])
        assert obs.age_hours is not None
        assert obs.age_hours >= 0
        assert video.thumbnail_url
        assert video.thumbnail_url.startswith("https://i.ytimg.com/")
    for item in hidden_likes:  # hidden counts stay unknown, never zero
        assert map_video_resource(item, NOW).observation.like_count is None


def test_api_source_pages_filters_and_counts_quota(youtube_api: RecordedYouTubeApi) -> None:
    source = YouTubeDataApiSource("secret-key", base_url=youtube_api.base_url, clock=lambda: NOW)
    result = source.search(SearchQuery(Topic("music"), max_results=12, max_duration_seconds=180))
    search_calls = [r for r in youtube_api.requests if r[0].endswith("/search")]
    video_calls = [r for r in youtube_api.requests if r[0].endswith("/videos")]
    assert len(search_calls) == 3  # page size 5: three pages for 12 ids
    assert search_calls[1][1]["pageToken"] == ["5"]
    assert len(video_calls) == 1
    assert video_calls[0][1]["part"] == ["snippet,statistics,contentDetails"]
    assert all(key == "secret-key" for _, _, key in youtube_api.requests)  # header, never the URL
    assert source.quota_used == 3 * 100 + 1 + 1  # 3 search pages, 1 videos.list, 1 channels.list
    assert len(result.videos) == 11  # the 12-minute video is filtered out
    assert youtube_api.order[1] not in {v.video_id for v in result.videos}
    assert result.videos[0].observation.duration_seconds == 20.0


def test_api_source_respects_run_quota_budget(youtube_api: RecordedYouTubeApi) -> None:
    source = YouTubeDataApiSource("k", base_url=youtube_api.base_url, quota_budget=201, clock=lambda: NOW)
    result = source.search(SearchQuery(Topic("music"), max_results=12))
    assert source.quota_used == 201  # 2 searches + 1 videos.list, never above the budget
    assert len(result.videos) == 9
    assert any("quota" in note for note in result.notes)


def test_api_quota_exceeded_is_typed(youtube_api: RecordedYouTubeApi) -> None:
    youtube_api.fail_with = (
        403,
        {
            "error": {
                "code": 403,
                "message": "The request cannot be completed because you have exceeded your quota.",
                "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}],
            }
        },
    )
    source = YouTubeDataApiSource("k", base_url=youtube_api.base_url)
    with pytest.raises(QuotaExceededError, match="quotaExceeded"):
        source.search(SearchQuery(Topic("music")))


def test_api_bad_key_is_a_config_error(youtube_api: RecordedYouTubeApi) -> None:
    youtube_api.fail_with = (
        400,
        {"error": {"code": 400, "message": "API key not valid.", "errors": [{"reason": "badRequest"}]}},
    )
    with pytest.raises(SourceConfigError, match="API key not valid"):
        YouTubeDataApiSource("k", base_url=youtube_api.base_url).search(SearchQuery(Topic("music")))


def _ytdlp(responses: dict[str, Any], calls: list[str], **kwargs: Any) -> YtDlpSource:
    return YtDlpSource(
        ydl_factory=lambda options: FakeYoutubeDL(responses, options, calls),
        sleep=lambda _: None,
        clock=lambda: NOW,
        **kwargs,
    )


def test_ytdlp_info_dict_with_missing_fields() -> None:
    info = ytdlp_info("vid00000001", duration=None, like_count=None, timestamp=None, categories=None)
    del info["comment_count"]
    obs = map_info_dict(info, NOW).observation
    assert obs.like_count is None
    assert obs.comment_count is None
    assert obs.duration_seconds is None
    assert obs.published_at is not None
    assert obs.published_at.isoformat().startswith("2026-08-20T00:00")
    assert obs.category_id is None
    assert map_info_dict(ytdlp_info("v2"), NOW).observation.category_id == 26


def test_ytdlp_search_filters_paces_and_isolates_failures() -> None:
    infos = [
        ytdlp_info("short000001"),
        ytdlp_info("long0000001", duration=1500),
        ytdlp_info("private0001"),
        ytdlp_info("nulldur0001", duration=None),
    ]
    responses: dict[str, Any] = {"cooking": ytdlp_search_result("cooking", infos)}
    for info in infos:
        responses[f"https://www.youtube.com/watch?v={info['id']}"] = info
    responses["https://www.youtube.com/watch?v=private0001"] = DownloadError(
        "ERROR: [youtube] private0001: Private video"
    )
    calls: list[str] = []
    result = _ytdlp(responses, calls).search(SearchQuery(Topic("cooking"), max_results=10, max_duration_seconds=60))
    assert calls[0] == "ytsearch20:cooking"
    assert "https://www.youtube.com/watch?v=long0000001" not in calls  # dropped before fetching metadata
    assert [v.video_id for v in result.videos] == ["short000001", "nulldur0001"]
    assert len(result.failures) == 1
    assert "Private video" in result.failures[0]


class Timeline:
    """A monotonic clock that moves only when the source sleeps or YouTube answers."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class SlowYoutubeDL(FakeYoutubeDL):
    """Every request takes ``seconds`` on the timeline."""

    def __init__(self, responses: dict[str, Any], options: dict[str, Any], timeline: Timeline, seconds: float) -> None:
        super().__init__(responses, options, [])
        self.timeline = timeline
        self.seconds = seconds

    def extract_info(self, url: str, download: bool = True) -> Any:
        self.timeline.now += self.seconds
        return super().extract_info(url, download)


@pytest.mark.parametrize(("seconds_left", "fetched", "socket_timeout"), [(30.0, 5, 15.0), (10.0, 0, 10.0)])
def test_ytdlp_search_stops_at_its_deadline_with_what_it_fetched(
    seconds_left: float, fetched: int, socket_timeout: float
) -> None:
    """100 entries x (1 s pacing + a fetch) cannot outlast the job: no fetch starts without a pause and one
    socket timeout left, sockets time out no later than the deadline, and what came back is kept."""
    timeline = Timeline()
    infos = [ytdlp_info(f"vid{n:08d}") for n in range(20)]
    responses: dict[str, Any] = {"cooking": ytdlp_search_result("cooking", infos)}
    responses.update({f"https://www.youtube.com/watch?v={info['id']}": info for info in infos})
    options: list[dict[str, Any]] = []

    def factory(given: dict[str, Any]) -> SlowYoutubeDL:
        options.append(given)
        return SlowYoutubeDL(responses, given, timeline, seconds=2.0)

    source = YtDlpSource(ydl_factory=factory, sleep=timeline.sleep, clock=lambda: NOW, monotonic=timeline)
    deadline = timeline.now + seconds_left
    result = source.search(SearchQuery(Topic("cooking"), max_results=20, max_duration_seconds=None, deadline=deadline))
    assert [video.video_id for video in result.videos] == [info["id"] for info in infos[:fetched]]
    assert result.cut_short == (
        f"ytdlp: search stopped at its deadline after {fetched} of 20 entries ({fetched} videos fetched)"
    )
    assert timeline.now <= deadline
    assert options[0]["socket_timeout"] == socket_timeout


def test_ytdlp_bot_wall_is_a_typed_error() -> None:
    wall = DownloadError(
        "ERROR: [youtube] abc: Sign in to confirm you’re not a bot. Use --cookies-from-browser or --cookies"
    )
    with pytest.raises(BotCheckError, match="not a bot"):
        _ytdlp({"cooking": wall}, []).search(SearchQuery(Topic("cooking")))
    info = ytdlp_info("short000001")
    responses = {"cooking": ytdlp_search_result("cooking", [info]), info["webpage_url"]: info}
    responses["https://www.youtube.com/watch?v=short000001"] = wall
    with pytest.raises(BotCheckError):
        _ytdlp(responses, []).search(SearchQuery(Topic("cooking")))


def test_ytdlp_options_with_cookies_and_proxy_from_secrets_manager(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    cookies = "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t0\tSID\tabc\n"
    secrets.create_secret(Name="miles/ytdlp", SecretString=json.dumps({"cookies": cookies, "proxy": "http://p:3128"}))
    monkeypatch.setenv("MILES_YTDLP_SECRET_ID", "miles/ytdlp")
    monkeypatch.setenv("MILES_SCRAPE_SOURCES", "ytdlp")
    (source,) = sources_from_env()
    assert isinstance(source, YtDlpSource)
    options = source.options()
    assert options["proxy"] == "http://p:3128"
    assert options["socket_timeout"] == 15.0
    with open(options["cookiefile"], encoding="utf-8") as handle:
        assert handle.read() == cookies


def test_api_key_from_ssm_parameter(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, youtube_api: RecordedYouTubeApi
) -> None:
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/miles/youtube", Value="ssm-key", Type="SecureString"
    )
    monkeypatch.setenv("MILES_YOUTUBE_SECRET_ID", "/miles/youtube")
    monkeypatch.setenv("MILES_SCRAPE_SOURCES", "youtube_api")
    (source,) = sources_from_env()
    assert isinstance(source, YouTubeDataApiSource)
    source._base_url = youtube_api.base_url
    source.search(SearchQuery(Topic("music"), max_results=2))
    assert {key for _, _, key in youtube_api.requests} == {"ssm-key"}


def test_missing_secret_is_a_config_error(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILES_YOUTUBE_SECRET_ID", "miles/none")
    monkeypatch.setenv("MILES_SCRAPE_SOURCES", "youtube_api")
    (source,) = sources_from_env()
    with pytest.raises(SourceConfigError, match="miles/none"):
        source.search(SearchQuery(Topic("music")))


def test_untrusted_titles_are_cleaned() -> None:
    assert clean_title("Hi\u202e\u200bthere\x00 \n  you") == "Hithere you"
    assert len(clean_title("x" * 1000)) == 300
