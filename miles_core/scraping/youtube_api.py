"""YouTube Data API v3 source: ``search.list`` for ids, ``videos.list`` for metadata and statistics,
``channels.list`` for each channel's subscriber count.

It works from AWS, where yt-dlp is often blocked. Quota-aware: every call's cost is counted
(``search.list`` = 100 units, ``videos.list`` and ``channels.list`` = 1 per 50 ids) against a per-run
budget, so one job cannot burn the project's daily 10,000 units; when the budget would be exceeded
the source stops paging and says so. The API key comes from Secrets Manager/SSM
(``MILES_YOUTUBE_SECRET_ID``) and travels in the ``X-Goog-Api-Key`` header, never in a URL that could
end up in a log or an error message.
HTTP is plain ``requests`` (a ``Session`` can be injected).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pydantic import ValidationError

from miles_core.observation import Observation
from miles_core.scraping.base import QuotaExceededError, SearchQuery, SearchResult, SourceConfigError, SourceError
from miles_core.scraping.sanitize import (
    clean_count,
    clean_description,
    clean_tags,
    clean_text,
    clean_title,
    clean_url,
)
from miles_core.store.records import Cohort, ScrapedVideo

logger = logging.getLogger(__name__)

SOURCE_NAME = "youtube_api"
DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3"
SEARCH_COST = 100
VIDEOS_COST = 1
CHANNELS_COST = 1
MAX_PAGE_SIZE = 50
DEFAULT_QUOTA_BUDGET = 1000
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded", "userRateLimitExceeded"})
_KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "accessNotConfigured", "ipRefererBlocked", "forbidden"})
_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_THUMBNAIL_ORDER = ("high", "medium", "standard", "default", "maxres")


def parse_iso8601_duration(value: object) -> float | None:
    """``PT1M1S`` -> 61.0; ``P0D`` (live) -> 0.0; anything unparseable -> None."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value.strip())
    if not match or value.strip() in ("P", "PT"):
        return None
    weeks, days, hours, minutes, seconds = match.groups()
    return (
        int(weeks or 0) * 604800
        + int(days or 0) * 86400
        + int(hours or 0) * 3600
        + int(minutes or 0) * 60
        + float(seconds or 0)
    )


def _best_thumbnail(thumbnails: object) -> str | None:
    if not isinstance(thumbnails, Mapping):
        return None
    for size in _THUMBNAIL_ORDER:
        entry = thumbnails.get(size)
        if isinstance(entry, Mapping) and (url := clean_url(entry.get("url"))):
            return url
    return None


def map_video_resource(item: Mapping[str, Any], observed_at: datetime) -> ScrapedVideo:
    """One ``videos.list`` item -> ScrapedVideo. Raises ValueError/ValidationError on unusable data."""
    video_id = clean_text(item.get("id"), 64)
    snippet = item.get("snippet") or {}
    statistics = item.get("statistics") or {}
    details = item.get("contentDetails") or {}
    if not video_id:
        raise ValueError("item without id")
    published_raw = snippet.get("publishedAt")
    published_at = datetime.fromisoformat(str(published_raw).replace("Z", "+00:00")) if published_raw else None
    category = clean_count(snippet.get("categoryId"))
    language = clean_text(snippet.get("defaultAudioLanguage") or snippet.get("defaultLanguage"), 20) or None
    observation = Observation(
        video_id=video_id,
        title=clean_title(snippet.get("title")),
        description=clean_description(snippet.get("description")),
        tags=clean_tags(snippet.get("tags")),
        category_id=category if category and 1 <= category <= 99 else None,
        language=language,
        channel_id=clean_text(snippet.get("channelId"), 64) or None,
        channel_title=clean_text(snippet.get("channelTitle"), 200) or None,
        published_at=published_at,
        observed_at=max(observed_at, published_at) if published_at else observed_at,
        duration_seconds=parse_iso8601_duration(details.get("duration")),
        view_count=clean_count(statistics.get("viewCount")),
        like_count=clean_count(statistics.get("likeCount")),
        comment_count=clean_count(statistics.get("commentCount")),
        thumbnail_url=_best_thumbnail(snippet.get("thumbnails")),
    )
    return ScrapedVideo(
        observation=observation,
        source=SOURCE_NAME,
        thumbnail_url=observation.thumbnail_url,
        webpage_url=f"https://www.youtube.com/watch?v={video_id}",
    )


class YouTubeDataApiSource:
    """``search.list`` (type=video; most viewed this week, or the newest short uploads) + ``videos.list``
    (snippet, statistics, contentDetails) + ``channels.list`` (statistics)."""

    name = SOURCE_NAME

    def __init__(
        self,
        api_key: str | Callable[[], str],
        *,
        session: requests.Session | None = None,
        base_url: str = DEFAULT_BASE_URL,
        quota_budget: int = DEFAULT_QUOTA_BUDGET,
        published_within: timedelta = timedelta(days=7),
        timeout_seconds: float = 15.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        spend: Callable[[int], None] | None = None,
    ) -> None:
        self._api_key = api_key
        self._spend = spend
        """Counts a call's units against the shared daily quota before it is made (raises when spent)."""
        self._session = session or requests.Session()
        self._base_url = base_url.rstrip("/")
        self.quota_budget = quota_budget
        self.quota_used = 0
        self._published_within = published_within
        self._timeout = timeout_seconds
        self._clock = clock

    def _key(self) -> str:
        if callable(self._api_key):
            self._api_key = self._api_key()
        return self._api_key

    def _get(self, resource: str, cost: int, params: dict[str, Any]) -> dict[str, Any]:
        if self.quota_used + cost > self.quota_budget:
            raise QuotaExceededError(
                self.name, f"run quota budget of {self.quota_budget} units reached ({self.quota_used} used)"
            )
        if self._spend is not None:
            self._spend(cost)
        self.quota_used += cost  # a failed call still costs quota
        try:
            response = self._session.get(
                f"{self._base_url}/{resource}",
                params=params,
                headers={"X-Goog-Api-Key": self._key(), "Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as error:
            raise SourceError(self.name, f"{resource} request failed: {type(error).__name__}") from error
        if response.status_code != 200:
            raise self._http_error(resource, response)
        try:
            body = response.json()
        except ValueError as error:
            raise SourceError(self.name, f"{resource} answered with invalid JSON") from error
        if not isinstance(body, dict):
            raise SourceError(self.name, f"{resource} answered with unexpected JSON")
        return body

    def _http_error(self, resource: str, response: requests.Response) -> SourceError:
        reason = ""
        message = ""
        try:
            error = response.json().get("error", {})
            message = clean_text(error.get("message"), 200)
            reason = str((error.get("errors") or [{}])[0].get("reason", ""))
        except (ValueError, AttributeError, IndexError):
            pass
        text = f"{resource} HTTP {response.status_code} {reason}: {message}".strip()
        if reason in _QUOTA_REASONS:
            return QuotaExceededError(self.name, text)
        if reason in _KEY_REASONS or response.status_code in (401, 403) or reason == "badRequest":
            return SourceConfigError(self.name, text)
        return SourceError(self.name, text)

    def _search_params(self, query: SearchQuery) -> dict[str, Any]:
        """``search.list`` parameters: the most viewed of the last week (top) or the newest short uploads (fresh)."""
        fresh = query.cohort is Cohort.FRESH
        window = query.fresh_within if fresh else self._published_within
        params: dict[str, Any] = {
            "part": "id",
            "q": query.topic,
            "type": "video",
            "order": "date" if fresh else "viewCount",
            "publishedAfter": (self._clock() - window).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "maxResults": MAX_PAGE_SIZE,  # a page costs 100 units whatever its size
            "safeSearch": "moderate",
        }
        if fresh or (query.max_duration_seconds is not None and query.max_duration_seconds <= 240):
            params["videoDuration"] = "short"  # the API's "short" = under 4 minutes
        return params

    def search(self, query: SearchQuery) -> SearchResult:
        """Page through ``search.list`` for ids, then fetch details in ``videos.list`` batches of 50.

        The quota budget applies per search (= per job); ``quota_used`` counts this search's units.
        """
        self.quota_used = 0
        result = SearchResult(source=self.name)
        ids: list[str] = []
        page_token: str | None = None
        wanted = min(query.max_results * 2, query.max_results + 50)  # headroom for the duration filter
        while len(ids) < wanted:
            params = self._search_params(query)
            if page_token:
                params["pageToken"] = page_token
            if ids and self.quota_used + SEARCH_COST > self.quota_budget:
                result.notes.append(f"stopped paging: run quota budget {self.quota_budget} units")
                break
            body = self._get("search", SEARCH_COST, params)
            for entry in body.get("items") or []:
                video_id = clean_text((entry.get("id") or {}).get("videoId"), 64) if isinstance(entry, dict) else ""
                if video_id and video_id not in ids:
                    ids.append(video_id)
            page_token = body.get("nextPageToken")
            if not page_token or not body.get("items"):
                break
        self._read_details(ids[:wanted], query, result)
        result.notes.append(f"quota used: {self.quota_used} units")
        return result

    def read(self, video_ids: Sequence[str]) -> SearchResult:
        """The current metadata, stats and channel sizes of known videos (the re-snapshot job's read).

        Costs 1 unit per 50 videos plus 1 per 50 channels; a video the API no longer returns
        (deleted, made private) is simply absent from ``videos``.
        """
        self.quota_used = 0
        result = SearchResult(source=self.name)
        self._read_details(list(dict.fromkeys(video_ids)), None, result)
        return result

    def _read_details(self, ids: list[str], query: SearchQuery | None, result: SearchResult) -> None:
        for start in range(0, len(ids), MAX_PAGE_SIZE):
            batch = ids[start : start + MAX_PAGE_SIZE]
            body = self._get(
                "videos",
                VIDEOS_COST,
                {"part": "snippet,statistics,contentDetails", "id": ",".join(batch), "maxResults": len(batch)},
            )
            observed_at = self._clock()
            for item in body.get("items") or []:
                if query is None or len(result.videos) < query.max_results:
                    self._add_item(item, observed_at, query, result)
        self._add_channel_sizes(result)

    def _add_channel_sizes(self, result: SearchResult) -> None:
        """Each video's channel subscriber count from ``channels.list`` (statistics, 50 channels a call).

        A failed or refused call leaves the counts unknown and says so in the notes: the videos
        themselves are still worth storing. The API rounds subscriber counts to three significant
        figures, and a channel may hide its count (``hiddenSubscriberCount``): unknown, never zero.
        """
        channels = list(dict.fromkeys(v.observation.channel_id for v in result.videos if v.observation.channel_id))
        counts: dict[str, int] = {}
        read_at: dict[str, datetime] = {}
        for start in range(0, len(channels), MAX_PAGE_SIZE):
            batch = channels[start : start + MAX_PAGE_SIZE]
            try:
                body = self._get(
                    "channels", CHANNELS_COST, {"part": "statistics", "id": ",".join(batch), "maxResults": len(batch)}
                )
            except SourceError as error:
                result.notes.append(f"channel sizes unknown for {len(channels) - start} channels: {error}")
                break
            moment = self._clock()
            for item in body.get("items") or []:
                channel_id = clean_text(item.get("id"), 64) if isinstance(item, dict) else ""
                statistics = (item.get("statistics") or {}) if isinstance(item, dict) else {}
                count = (
                    None if statistics.get("hiddenSubscriberCount") else clean_count(statistics.get("subscriberCount"))
                )
                if channel_id and count is not None:
                    counts[channel_id], read_at[channel_id] = count, moment
        result.videos[:] = [_with_channel_size(v, counts, read_at) for v in result.videos]

    def _add_item(self, item: Any, observed_at: datetime, query: SearchQuery | None, result: SearchResult) -> None:
        item_id = clean_text(item.get("id") if isinstance(item, dict) else None, 64) or "?"
        try:
            if not isinstance(item, dict):
                raise ValueError("item is not an object")
            snippet = item.get("snippet") or {}
            if snippet.get("liveBroadcastContent") in ("live", "upcoming"):
                return
            video = map_video_resource(item, observed_at)
        except (ValueError, ValidationError) as error:
            result.failures.append(f"{item_id}: unusable video data ({type(error).__name__})")
            return
        duration = video.observation.duration_seconds
        if (
            query is not None
            and query.max_duration_seconds is not None
            and duration is not None
            and duration > query.max_duration_seconds
        ):
            return
        result.videos.append(video)


def _with_channel_size(video: ScrapedVideo, counts: Mapping[str, int], read_at: Mapping[str, datetime]) -> ScrapedVideo:
    channel = video.observation.channel_id
    if channel is None or channel not in counts:
        return video
    observation = video.observation.model_copy(update={"channel_follower_count": counts[channel]})
    return replace(video, observation=observation, channel_subscribers_read_at=read_at[channel])
