"""Per-container singletons of the scrape handlers: the source chain and the job queue (created lazily).

Lazy rather than at import so tests (and ``make run``) can point boto3 at moto before the first
client exists; ``reset()`` drops them, and the shared store of :mod:`miles_core.store.shared`, between tests.
"""

from __future__ import annotations

from typing import Any

from miles_core.scraping.base import Source
from miles_core.scraping.fixed_age_snapshots import VideoReader
from miles_core.scraping.queue import SqsJobQueue
from miles_core.store import shared

_cache: dict[str, Any] = {}


def sources() -> list[Source]:
    if "sources" not in _cache:
        from miles_core.scraping.sources import sources_from_env

        _cache["sources"] = sources_from_env(shared.store())
    result: list[Source] = _cache["sources"]
    return result


def snapshot_reader() -> VideoReader | None:
    """The fixed-age re-snapshot job's reader: the YouTube Data API source (its calls spend the daily quota)."""
    if "snapshot_reader" not in _cache:
        from miles_core.scraping.sources import youtube_api_from_env

        _cache["snapshot_reader"] = youtube_api_from_env(shared.store())
    reader: VideoReader | None = _cache["snapshot_reader"]
    return reader


def set_snapshot_reader(value: VideoReader | None) -> None:
    """Replace the re-snapshot job's reader (tests, local runs with recorded responses)."""
    _cache["snapshot_reader"] = value


def job_queue() -> SqsJobQueue:
    """Where producers hand recorded jobs to the worker (``MILES_SCRAPE_QUEUE_URL``, read at first send)."""
    if "job_queue" not in _cache:
        _cache["job_queue"] = SqsJobQueue()
    queue: SqsJobQueue = _cache["job_queue"]
    return queue


def set_sources(value: list[Source]) -> None:
    """Replace the source chain (tests, local runs with recorded sources)."""
    _cache["sources"] = value


def reset() -> None:
    """Forget the sources, the queue and the shared store (between tests)."""
    _cache.clear()
    shared.reset()
