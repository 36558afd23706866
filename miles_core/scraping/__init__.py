"""Candidate sources (yt-dlp, YouTube Data API v3) -> canonical observations, and the scrape job runner."""

from miles_core.scraping.base import (
    BotCheckError,
    QuotaExceededError,
    SearchQuery,
    SearchResult,
    Source,
    SourceConfigError,
    SourceError,
)

__all__ = [
    "BotCheckError",
    "QuotaExceededError",
    "SearchQuery",
    "SearchResult",
    "Source",
    "SourceConfigError",
    "SourceError",
]
