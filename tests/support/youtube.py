"""Recorded YouTube for tests: the Data API over loopback HTTP, yt-dlp at its ``extract_info`` boundary.

Recorded data: the real ``videos.list`` responses in ``tests/fixtures/youtube_data_api`` served
by a loopback HTTP server (HTTP is faked at the transport level, the real ``requests`` code runs),
and yt-dlp info dicts shaped like yt-dlp's output, returned by a fake ``YoutubeDL.extract_info``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from miles_core.observation import Observation
from miles_core.scraping.base import SearchQuery, SearchResult, SourceError
from miles_core.scraping.ytdlp import YtDlpSource
from miles_core.store import ScrapedVideo
from tests.support.moto_table import NOW
from tests.support.paths import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "youtube_data_api"


def recorded_items(country: str = "US") -> list[dict[str, Any]]:
    name = {"US": "videos_list_mostPopular_US_20260821.json", "GB": "videos_list_mostPopular_GB_20250415.json"}
    return list(json.loads((FIXTURES / name[country]).read_text(encoding="utf-8"))["items"])


class RecordedYouTubeApi:
    """A loopback server answering ``/search`` and ``/videos`` from the recorded responses.

    ``videos`` answers with the real recorded items (adding ``contentDetails.duration``, which a real
    ``part=contentDetails`` call returns and the recording lacks); ``search`` pages through their ids
    like ``search.list`` (``nextPageToken``); a fresh-uploads search (``order=date``) and ``channels``
    find nothing (the recording has neither). Every request is logged for assertions.
    """

    def __init__(self, items: list[dict[str, Any]], durations: dict[str, str], page_size: int = 5) -> None:
        self.items = {item["id"]: item for item in items}
        self.order = [item["id"] for item in items]
        self.durations = durations
        self.page_size = page_size
        self.requests: list[tuple[str, dict[str, list[str]], str | None]] = []
        self.fail_with: tuple[int, dict[str, Any]] | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                query = parse_qs(parsed.query)
                api.requests.append((parsed.path, query, self.headers.get("X-Goog-Api-Key")))
                status, body = api.answer(parsed.path, query)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/youtube/v3"

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if self.fail_with is not None:
            return self.fail_with
        if path.endswith("/search") and query.get("order") != ["date"]:
            start = int(query.get("pageToken", ["0"])[0])
            size = min(int(query["maxResults"][0]), self.page_size)
            ids = self.order[start : start + size]
            body: dict[str, Any] = {
                "kind": "youtube#searchListResponse",
                "etag": "recorded",
                "regionCode": "US",
                "pageInfo": {"totalResults": len(self.order), "resultsPerPage": size},
                "items": [
                    {"kind": "youtube#searchResult", "etag": "e", "id": {"kind": "youtube#video", "videoId": i}}
                    for i in ids
                ],
            }
            if start + size < len(self.order):
                body["nextPageToken"] = str(start + size)
            return 200, body
        if path.endswith("/search"):
            return 200, {"kind": "youtube#searchListResponse", "etag": "recorded", "items": []}  # no fresh uploads
        if path.endswith("/channels"):
            return 200, {"kind": "youtube#channelListResponse", "etag": "recorded", "items": []}
        if path.endswith("/videos"):
            items = []
            for video_id in query["id"][0].split(","):
                if video_id in self.items:
                    item = json.loads(json.dumps(self.items[video_id]))
                    if video_id in self.durations:
                        item["contentDetails"] = {"duration": self.durations[video_id], "dimension": "2d"}
                    items.append(item)
            return 200, {"kind": "youtube#videoListResponse", "etag": "recorded", "items": items}
        return 404, {"error": {"code": 404, "message": "not found", "errors": [{"reason": "notFound"}]}}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


FRESH_FIXTURES = FIXTURES / "fresh"


class FreshUploadsApi(RecordedYouTubeApi):
    """The recorded fresh-uploads responses (``tests/fixtures/youtube_data_api/fresh``), served as of ``clock()``.

    ``search`` (order=date) answers the file of the current minute, ``videos`` and ``channels`` the
    items of the current minute's file that were asked for (50 ids at most, as the API enforces); a
    minute without a recording answers 500, so a test reading at an unplanned time fails loudly.
    Top-of-search queries (order=viewCount) find nothing: these recordings hold only fresh uploads.
    """

    def __init__(self, clock: Any) -> None:
        super().__init__([], {})
        self.clock = clock

    def recording(self, resource: str) -> dict[str, Any] | None:
        """The recorded response of ``resource`` at the current minute, or None."""
        path = FRESH_FIXTURES / f"{resource}_list_fresh_{self.clock():%Y%m%dT%H%MZ}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        resource = path.rsplit("/", 1)[-1]
        if resource == "search" and query.get("order") != ["date"]:
            return 200, {"kind": "youtube#searchListResponse", "etag": "recorded", "items": []}
        body = self.recording(resource)
        if body is None:
            return 500, {"error": {"code": 500, "message": f"no recorded {resource} at {self.clock()}"}}
        if resource in ("videos", "channels"):
            wanted = query["id"][0].split(",")
            if len(wanted) > 50:
                return 400, {"error": {"code": 400, "message": "too many ids", "errors": [{"reason": "badRequest"}]}}
            body["items"] = [item for item in body["items"] if item["id"] in wanted]
        return 200, body


@pytest.fixture
def youtube_api() -> Iterator[RecordedYouTubeApi]:
    items = recorded_items("US")[:12]
    durations = {item["id"]: f"PT{20 + 7 * n}S" for n, item in enumerate(items)}
    durations[items[1]["id"]] = "PT12M3S"  # a long video: filtered out by the Shorts cap
    api = RecordedYouTubeApi(items, durations)
    yield api
    api.close()


def ytdlp_info(video_id: str, **overrides: Any) -> dict[str, Any]:
    """An info dict as ``YoutubeDL.extract_info(url, download=False)`` returns for a YouTube Short."""
    info: dict[str, Any] = {
        "id": video_id,
        "title": f"Crispy garlic potatoes in 60 seconds #{video_id}",
        "formats": [],
        "thumbnails": [{"url": f"https://i.ytimg.com/vi/{video_id}/hqdefault.jpg", "preference": -7}],
        "thumbnail": f"https://i.ytimg.com/vi/{video_id}/oar2.jpg",
        "description": "Full recipe below\n#shorts",
        "channel_id": "UCabcdefghijklmnopqrstuv",
        "channel_url": "https://www.youtube.com/channel/UCabcdefghijklmnopqrstuv",
        "duration": 42,
        "view_count": 183204,
        "age_limit": 0,
        "webpage_url": f"https://www.youtube.com/shorts/{video_id}",
        "categories": ["Howto & Style"],
        "tags": ["cooking", "shorts"],
        "playable_in_embed": True,
        "live_status": "not_live",
        "comment_count": 211,
        "like_count": 9120,
        "channel": "Kitchen Minute",
        "channel_follower_count": 120000,
        "upload_date": "20260820",
        "timestamp": 1787212800,
        "availability": "public",
        "original_url": f"https://www.youtube.com/shorts/{video_id}",
        "extractor": "youtube",
        "extractor_key": "Youtube",
        "uploader": "Kitchen Minute",
        "uploader_id": "@kitchenminute",
        "fulltitle": f"Crispy garlic potatoes in 60 seconds #{video_id}",
        "duration_string": "42",
        "language": "en",
        "_type": "video",
    }
    info.update(overrides)
    return info


def ytdlp_search_result(topic: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``extract_info("ytsearchN:topic")`` returns with ``extract_flat='in_playlist'``."""
    return {
        "id": topic,
        "title": topic,
        "_type": "playlist",
        "entries": [
            {
                "_type": "url",
                "ie_key": "Youtube",
                "id": e["id"],
                "url": f"https://www.youtube.com/watch?v={e['id']}",
                "title": e["title"],
                "duration": e.get("duration"),
                "channel_id": e.get("channel_id"),
                "view_count": e.get("view_count"),
            }
            for e in entries
        ],
        "extractor": "youtube:search",
        "webpage_url": f"ytsearch{len(entries)}:{topic}",
    }


class FakeYoutubeDL:
    """Stands in for ``yt_dlp.YoutubeDL`` at its ``extract_info`` boundary."""

    def __init__(self, responses: dict[str, Any], options: dict[str, Any], calls: list[str]) -> None:
        self.responses = responses
        self.options = options
        self.calls = calls

    def __enter__(self) -> FakeYoutubeDL:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def extract_info(self, url: str, download: bool = True) -> Any:
        assert download is False
        self.calls.append(url)
        answer = self.responses[url.split("ytsearch", 1)[-1].split(":", 1)[-1] if url.startswith("ytsearch") else url]
        if isinstance(answer, Exception):
            raise answer
        return answer


def ytdlp_source(topic: str, count: int) -> YtDlpSource:
    """A yt-dlp source answering ``topic`` with ``count`` made-up videos (ids from the topic)."""
    infos = [ytdlp_info(f"{topic[:4]}{n:07d}") for n in range(count)]
    responses: dict[str, Any] = {topic: ytdlp_search_result(topic, infos)}
    responses.update({f"https://www.youtube.com/watch?v={i['id']}": i for i in infos})
    return YtDlpSource(ydl_factory=lambda o: FakeYoutubeDL(responses, o, []), sleep=lambda _: None)


def video(video_id: str, views: int | None, hours: float = 0.0, likes: int | None = None) -> ScrapedVideo:
    """A scraped video published 5 h before :data:`NOW`, observed ``hours`` after it."""
    return ScrapedVideo(
        observation=Observation(
            video_id=video_id,
            title=f"title {video_id}",
            channel_id="UC1",
            channel_title="chan",
            published_at=NOW - timedelta(hours=5),
            observed_at=NOW + timedelta(hours=hours),
            view_count=views,
            like_count=likes,
        ),
        source="test",
        thumbnail_url=f"https://i.ytimg.com/vi/{video_id}/hqdefault.jpg",
    )


class FailingSource:
    """A source failing as a whole with ``error``, named after the source a :class:`SourceError` names."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.name = error.source if isinstance(error, SourceError) else "failing"

    def search(self, query: SearchQuery) -> SearchResult:
        raise self.error
