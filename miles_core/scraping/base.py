"""One interface for every candidate source, and the typed errors they raise.

A source turns a search (topic, how many, a duration cap) into :class:`ScrapedVideo` items that
carry the canonical :class:`~miles_core.observation.Observation`. A source that cannot answer at
all raises :class:`SourceError` (the job reports it); a single video it cannot map is reported in
``SearchResult.failures`` while the others still come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol, runtime_checkable

from miles_core.config import DEFAULT_SCRAPE_MAX_DURATION_SECONDS, DEFAULT_SCRAPE_MAX_RESULTS
from miles_core.store.job_records import FailureCause
from miles_core.store.records import Cohort, ScrapedVideo
from miles_core.topics import Topic

FRESH_WITHIN = timedelta(hours=6)
"""The fresh cohort's window: uploads of the last 6 hours, the scrape schedule's interval, so consecutive
scheduled searches leave no gap between them."""


class SourceError(RuntimeError):
    """The source could not answer the search. ``retryable``: trying again later may work.

    ``cause`` is what the job records, so its ``failure_reason`` says why in a creator's words.
    """

    retryable: bool = True
    cause: FailureCause = FailureCause.SOURCE_DOWN

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class BotCheckError(SourceError):
    """YouTube answered "Sign in to confirm you're not a bot" (typical on cloud IPs).

    Not retryable from the same IP: configure cookies/a proxy in the yt-dlp secret, or use the
    YouTube Data API source.
    """

    retryable = False
    cause = FailureCause.BLOCKED


class QuotaExceededError(SourceError):
    """The YouTube Data API quota (daily, or this run's budget) is used up."""

    retryable = False
    cause = FailureCause.QUOTA


class SourceConfigError(SourceError):
    """The source is misconfigured (missing or unreadable secret, bad key)."""

    retryable = False
    cause = FailureCause.SOURCE_SETUP


class NoVideosError(SourceError):
    """The source has no video for the topic: asking again the same way finds none either."""

    retryable = False
    cause = FailureCause.NO_VIDEOS


class OutOfTimeError(SourceError):
    """Too little of the search's time budget was left to start it; a fresh invocation may manage."""

    cause = FailureCause.OUT_OF_TIME


@dataclass(frozen=True)
class SearchQuery:
    """A search: the topic is used as the query text; ``max_duration_seconds`` keeps Shorts-length videos.

    ``cohort``: ``top`` asks for the top of the search; ``fresh`` for the newest short uploads,
    published within ``fresh_within``.
    """

    topic: Topic
    max_results: int = DEFAULT_SCRAPE_MAX_RESULTS
    max_duration_seconds: int | None = DEFAULT_SCRAPE_MAX_DURATION_SECONDS
    cohort: Cohort = Cohort.TOP
    fresh_within: timedelta = FRESH_WITHIN
    deadline: float | None = None
    """The ``time.monotonic()`` instant the source must return by, with what it has found so far: the job
    still has to write it before the worker's timeout. ``None``: no limit (CLI runs, tests)."""


@dataclass
class SearchResult:
    """What a source found. ``failures`` names videos it found but could not map (untrusted data)."""

    source: str
    videos: list[ScrapedVideo] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cut_short: str | None = None
    """Why the source returned before its answer was complete (the deadline came); the job ends partial."""


@runtime_checkable
class Source(Protocol):
    """A candidate source. Implementations: ``YouTubeDataApiSource``, ``YtDlpSource``."""

    name: str

    def search(self, query: SearchQuery) -> SearchResult:
        """Search and fetch full metadata + stats; raise SourceError when the source fails as a whole."""
        ...
