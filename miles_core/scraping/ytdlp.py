"""yt-dlp source: ``ytsearchN:<topic>`` (or, for the fresh cohort, the search page sorted by upload
date and filtered to today's short videos) for candidates, then full metadata per video.

Why two steps: a flat search is one request and already carries most durations, so videos longer
than the Shorts cap are dropped before paying for their metadata; each remaining video is then
extracted on its own (paced), so one private/removed video fails alone and the others still come
back. The query's deadline is honoured: socket timeouts are capped by the time left, no video is
fetched without a pacing pause and one socket timeout left before it, and what was fetched by then is
returned marked ``cut_short``, so the job writes it and ends ``partial``. Cookies and a proxy are
optional and come from a secret (``MILES_YTDLP_SECRET_ID``: a JSON object
``{"cookies": "<Netscape cookies.txt>", "proxy": "http://..."}``), because YouTube blocks cloud IPs
with "Sign in to confirm you're not a bot", which is raised as :class:`BotCheckError`.
"""

from __future__ import annotations

import base64
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from pydantic import ValidationError

from miles_core.observation import Observation
from miles_core.scraping.base import BotCheckError, OutOfTimeError, SearchQuery, SearchResult, SourceError
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

SOURCE_NAME = "ytdlp"
MAX_SEARCH_RESULTS = 100
RETRIES = 2
"""yt-dlp's own retries of a failed request: one extraction that keeps timing out may run this many socket
timeouts past the query's deadline (the job keeps more than that after it, see ``scraping.service``)."""
CATEGORY_IDS = {
    "film & animation": 1,
    "autos & vehicles": 2,
    "music": 10,
    "pets & animals": 15,
    "sports": 17,
    "travel & events": 19,
    "gaming": 20,
    "people & blogs": 22,
    "comedy": 23,
    "entertainment": 24,
    "news & politics": 25,
    "howto & style": 26,
    "education": 27,
    "science & technology": 28,
    "nonprofits & activism": 29,
}
"""yt-dlp reports category *names*; the model uses YouTube's numeric category ids."""


class YoutubeDLLike(Protocol):
    """The slice of ``yt_dlp.YoutubeDL`` this source uses (tests fake it at this boundary)."""

    def extract_info(self, url: str, download: bool = ...) -> Any: ...


YoutubeDLFactory = Callable[[dict[str, Any]], AbstractContextManager[YoutubeDLLike]]


def is_bot_check(message: str) -> bool:
    """YouTube's anti-bot wall, whichever apostrophe it uses."""
    text = message.lower().replace("’", "'")
    return "confirm you're not a bot" in text or ("sign in to confirm" in text and "bot" in text)


class _YtDlpLogger:
    """Routes yt-dlp's messages to logging (``quiet`` alone still prints errors to stderr)."""

    def debug(self, message: str) -> None:
        logger.debug("yt-dlp: %s", message[:500])

    def info(self, message: str) -> None:
        logger.debug("yt-dlp: %s", message[:500])

    def warning(self, message: str) -> None:
        logger.info("yt-dlp warning: %s", message[:500])

    def error(self, message: str) -> None:
        logger.warning("yt-dlp error: %s", message[:500])


def _published_at(info: Mapping[str, Any]) -> datetime | None:
    for field in ("timestamp", "release_timestamp"):
        value = info.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return datetime.fromtimestamp(value, UTC)
    upload_date = info.get("upload_date")
    if isinstance(upload_date, str) and len(upload_date) == 8 and upload_date.isdigit():
        return datetime.strptime(upload_date, "%Y%m%d").replace(tzinfo=UTC)
    return None


def _thumbnail(info: Mapping[str, Any]) -> str | None:
    url = clean_url(info.get("thumbnail"))
    if url:
        return url
    thumbnails = info.get("thumbnails")
    if isinstance(thumbnails, list):
        for entry in reversed(thumbnails):
            if isinstance(entry, Mapping) and (candidate := clean_url(entry.get("url"))):
                return candidate
    return None


def _category_id(info: Mapping[str, Any]) -> int | None:
    categories = info.get("categories")
    if isinstance(categories, list):
        for name in categories:
            if isinstance(name, str) and name.strip().lower() in CATEGORY_IDS:
                return CATEGORY_IDS[name.strip().lower()]
    return None


def map_info_dict(info: Mapping[str, Any], observed_at: datetime) -> ScrapedVideo:
    """A yt-dlp info dict (missing or null fields allowed) -> ScrapedVideo; ValueError when unusable."""
    video_id = clean_text(info.get("id"), 64)
    if not video_id:
        raise ValueError("info dict without id")
    duration = info.get("duration")
    published_at = _published_at(info)
    observation = Observation(
        video_id=video_id,
        title=clean_title(info.get("title") or info.get("fulltitle")),
        description=clean_description(info.get("description")),
        tags=clean_tags(info.get("tags") if isinstance(info.get("tags"), list) else None),
        category_id=_category_id(info),
        language=clean_text(info.get("language"), 20) or None,
        channel_id=clean_text(info.get("channel_id"), 64) or None,
        channel_title=clean_text(info.get("channel") or info.get("uploader"), 200) or None,
        channel_follower_count=clean_count(info.get("channel_follower_count")),
        published_at=published_at,
        observed_at=max(observed_at, published_at) if published_at else observed_at,
        duration_seconds=float(duration) if isinstance(duration, (int, float)) and duration >= 0 else None,
        view_count=clean_count(info.get("view_count")),
        like_count=clean_count(info.get("like_count")),
        comment_count=clean_count(info.get("comment_count")),
        thumbnail_url=_thumbnail(info),
    )
    return ScrapedVideo(
        observation=observation,
        source=SOURCE_NAME,
        thumbnail_url=observation.thumbnail_url,
        webpage_url=clean_url(info.get("webpage_url")) or f"https://www.youtube.com/watch?v={video_id}",
        # the video page carries the channel's count: read at the same moment as the video's
        channel_subscribers_read_at=observation.observed_at if observation.channel_follower_count is not None else None,
    )


FRESH_SEARCH_PARAMS = base64.urlsafe_b64encode(
    bytes([0x08, 0x02, 0x12, 0x06, 0x08, 0x02, 0x10, 0x01, 0x18, 0x01])
).decode()
"""YouTube's search filter (the ``sp`` parameter of ``/results``, a protobuf): sort by upload date
(field 1 = 2), filters (field 2) upload date today (1 = 2), type video (2 = 1), duration under 4
minutes (3 = 1). yt-dlp's ``ytsearch`` sends ``EgIQAfABAQ==`` (videos only) the same way; this yt-dlp
has no date-sorted search key, so the fresh cohort reads the search page URL (``YoutubeSearchURLIE``)."""


def search_url(query: SearchQuery, wanted: int) -> str:
    """What yt-dlp extracts for ``query``: ``ytsearchN:topic`` (top), or the newest short uploads' search page."""
    if query.cohort is Cohort.FRESH:
        return f"https://www.youtube.com/results?{urlencode({'search_query': query.topic, 'sp': FRESH_SEARCH_PARAMS})}"
    return f"ytsearch{wanted}:{query.topic}"


def is_fresh(video: ScrapedVideo, query: SearchQuery, now: datetime) -> bool:
    """True when the video was published inside the query's fresh window (unknown publish time: not fresh)."""
    published = video.observation.published_at
    return published is not None and now - published <= query.fresh_within


def _default_factory(options: dict[str, Any]) -> AbstractContextManager[YoutubeDLLike]:
    from yt_dlp import YoutubeDL

    ydl: AbstractContextManager[YoutubeDLLike] = YoutubeDL(options)
    return ydl


class YtDlpSource:
    """Search + metadata through yt-dlp, with optional cookies/proxy, pacing and a socket timeout."""

    name = SOURCE_NAME

    def __init__(
        self,
        *,
        ydl_factory: YoutubeDLFactory = _default_factory,
        credentials: Callable[[], Mapping[str, Any]] | None = None,
        pacing_seconds: float = 1.0,
        socket_timeout: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = ydl_factory
        self._credentials = credentials
        self._pacing = pacing_seconds
        self._socket_timeout = socket_timeout
        self._sleep = sleep
        self._clock = clock
        self._monotonic = monotonic
        self._options: dict[str, Any] | None = None

    def options(self) -> dict[str, Any]:
        """yt-dlp options, built once per container (the secret is read once)."""
        if self._options is not None:
            return self._options
        options: dict[str, Any] = {
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "skip_download": True,
            "extract_flat": "in_playlist",
            "socket_timeout": self._socket_timeout,
            "sleep_interval_requests": self._pacing,
            "retries": RETRIES,
            "extractor_retries": 1,
            "logger": _YtDlpLogger(),
        }
        if self._credentials is not None:
            secret = self._credentials()
            cookies = secret.get("cookies")
            if isinstance(cookies, str) and cookies.strip():
                handle, path = tempfile.mkstemp(prefix="miles-ytdlp-", suffix=".txt")
                with os.fdopen(handle, "w", encoding="utf-8") as file:  # mkstemp: mode 0600
                    file.write(cookies if cookies.endswith("\n") else cookies + "\n")
                options["cookiefile"] = path
            proxy = secret.get("proxy")
            if isinstance(proxy, str) and proxy.strip():
                options["proxy"] = proxy.strip()
        self._options = options
        return options

    def _error(self, error: Exception, what: str) -> SourceError:
        message = str(error)
        if is_bot_check(message):
            return BotCheckError(
                self.name,
                "YouTube answered 'Sign in to confirm you're not a bot' (blocked IP): add cookies/proxy to the "
                "MILES_YTDLP_SECRET_ID secret or use the YouTube Data API source",
            )
        return SourceError(self.name, f"{what} failed: {clean_text(message, 300)}")

    def _time_left(self, query: SearchQuery) -> float:
        return float("inf") if query.deadline is None else query.deadline - self._monotonic()

    def search(self, query: SearchQuery) -> SearchResult:
        from yt_dlp.utils import YoutubeDLError

        result = SearchResult(source=self.name)
        wanted = max(1, min(MAX_SEARCH_RESULTS, query.max_results * 2))  # headroom for the duration filter
        left = self._time_left(query)
        if left < self._pacing:
            raise OutOfTimeError(self.name, f"search not started: {max(left, 0.0):.0f} s left before the deadline")
        socket_timeout = min(self._socket_timeout, left)
        options = {**self.options(), "socket_timeout": socket_timeout, "playlistend": wanted}
        with self._factory(options) as ydl:
            try:
                listing = ydl.extract_info(search_url(query, wanted), download=False)
            except YoutubeDLError as error:
                raise self._error(error, "search") from error
            entries = [e for e in (listing or {}).get("entries") or [] if isinstance(e, Mapping)]
            first = True
            for position, entry in enumerate(entries):
                if len(result.videos) >= query.max_results:
                    break
                video_id = clean_text(entry.get("id"), 64)
                if not video_id or self._too_long(entry.get("duration"), query):
                    continue
                if self._time_left(query) < self._pacing + socket_timeout:
                    result.cut_short = (
                        f"{self.name}: search stopped at its deadline after {position} of {len(entries)} entries "
                        f"({len(result.videos)} videos fetched)"
                    )
                    break
                if not first:
                    self._sleep(self._pacing)
                first = False
                try:
                    info = ydl.extract_info(f"https://www.youtube.com/watch?v={video_id}", download=False)
                except YoutubeDLError as error:
                    failure = self._error(error, f"video {video_id}")
                    if isinstance(failure, BotCheckError):
                        raise failure from error  # every further request would hit the same wall
                    result.failures.append(str(failure))
                    continue
                self._add(info, video_id, query, result)
        return result

    @staticmethod
    def _too_long(duration: Any, query: SearchQuery) -> bool:
        return (
            query.max_duration_seconds is not None
            and isinstance(duration, (int, float))
            and duration > query.max_duration_seconds
        )

    def _add(self, info: Any, video_id: str, query: SearchQuery, result: SearchResult) -> None:
        if not isinstance(info, Mapping):
            result.failures.append(f"{self.name}: video {video_id}: no metadata")
            return
        if info.get("live_status") in ("is_live", "is_upcoming") or info.get("is_live"):
            return
        if self._too_long(info.get("duration"), query):
            return
        try:
            video = map_info_dict(info, self._clock())
        except (ValueError, ValidationError) as error:
            result.failures.append(f"{self.name}: video {video_id}: unusable metadata ({type(error).__name__})")
            return
        if query.cohort is Cohort.FRESH and not is_fresh(video, query, self._clock()):
            return  # YouTube's "today" filter is coarser than the fresh window
        result.videos.append(video)
