"""The configured source chain, built from the environment (``MILES_SCRAPE_SOURCES`` and the sources' secrets).

Secrets are read lazily, at a source's first use, so a missing secret is that source's
configuration error in the job's errors rather than a failed cold start.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from miles_core.config import (
    env_int,
    env_list,
    env_str,
)
from miles_core.scraping.base import Source, SourceConfigError
from miles_core.secrets import SecretUnavailableError, read_secret_fields
from miles_core.store import (
    MilesStore,
)

if TYPE_CHECKING:
    from miles_core.scraping.youtube_api import YouTubeDataApiSource

from miles_core.scraping.schedule import niches_from_env

logger = logging.getLogger(__name__)

DEFAULT_SOURCES = ("youtube_api", "ytdlp")


def _secret_fields(secret_id: str, source: str, plain_key: str) -> dict[str, Any]:
    """A source's secret; an unreadable one is that source's configuration error (the job says which)."""
    try:
        return read_secret_fields(secret_id, plain_key=plain_key)
    except SecretUnavailableError as error:
        raise SourceConfigError(source, str(error)) from error


def sources_from_env(store: MilesStore | None = None) -> list[Source]:
    """The configured source chain: ``MILES_SCRAPE_SOURCES`` (default ``youtube_api,ytdlp``).

    ``youtube_api`` needs ``MILES_YOUTUBE_SECRET_ID`` and is skipped without it; with ``store`` its
    calls spend the shared daily quota (:class:`~miles_core.scraping.quota.DailyQuota`). ``ytdlp`` reads
    optional cookies/proxy from ``MILES_YTDLP_SECRET_ID``; ``catalog`` answers from the table's own
    videos (the offline and last-resort source). Secrets are read lazily, at first use.
    """
    sources: list[Source] = []
    for name in env_list("MILES_SCRAPE_SOURCES", DEFAULT_SOURCES):
        if name == "youtube_api":
            api = youtube_api_from_env(store)
            if api is not None:
                sources.append(api)
        elif name == "ytdlp":
            from miles_core.scraping.ytdlp import YtDlpSource

            ytdlp_secret = env_str("MILES_YTDLP_SECRET_ID")

            def credentials(secret_id: str | None = ytdlp_secret) -> dict[str, Any]:
                return _secret_fields(secret_id, "ytdlp", "cookies") if secret_id else {}

            sources.append(YtDlpSource(credentials=credentials))
        elif name == "catalog":
            from miles_core.scraping.catalog import CatalogSource, topic_encoder

            sources.append(CatalogSource(MilesStore.from_env, topics=niches_from_env(), encoder=topic_encoder()))
        else:
            logger.warning("unknown scrape source %r in MILES_SCRAPE_SOURCES ignored", name)
    return sources


def youtube_api_from_env(store: MilesStore | None = None) -> YouTubeDataApiSource | None:
    """The YouTube Data API source, or ``None`` without ``MILES_YOUTUBE_SECRET_ID``.

    With ``store`` its calls spend the shared daily quota; the key is read at the first call.
    """
    secret_id = env_str("MILES_YOUTUBE_SECRET_ID")
    if secret_id is None:
        logger.info("youtube_api source skipped: MILES_YOUTUBE_SECRET_ID is not set")
        return None
    from miles_core.scraping.youtube_api import YouTubeDataApiSource

    def api_key() -> str:
        value = _secret_fields(secret_id, "youtube_api", "api_key").get("api_key")
        if not isinstance(value, str) or not value.strip():
            raise SourceConfigError("youtube_api", f"secret {secret_id!r} has no api_key")
        return value.strip()

    spend = None
    if store is not None:
        from miles_core.scraping.quota import DailyQuota

        spend = DailyQuota(store).spend
    budget = env_int("MILES_YOUTUBE_QUOTA_BUDGET", 1000)
    return YouTubeDataApiSource(api_key, quota_budget=budget, spend=spend)
