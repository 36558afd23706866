"""Configuration from environment variables, read in one style everywhere.

Every environment variable Miles reads goes through these helpers with a literal ``MILES_*``
name, so a test can list them and check the SAM template sets exactly those (and vice versa).
Secrets are never read from the environment in AWS: only the *id* of a Secrets Manager secret or SSM
parameter is. The one exception is local: without ``MILES_OPENAI_SECRET_ID`` the LLM key follows the
``openai`` convention (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``), which the template never sets.
"""

from __future__ import annotations

import os

DEFAULT_SCRAPE_MAX_RESULTS = 20
"""Videos one scrape job fetches when nothing else says (API body default, queue messages, recommend
jobs, the schedule unless ``MILES_SCRAPE_MAX_RESULTS`` is set)."""
DEFAULT_SCRAPE_MAX_DURATION_SECONDS = 180
"""Longest video a scrape keeps when nothing else says (Shorts run up to three minutes); the schedule
reads ``MILES_SCRAPE_MAX_DURATION_SECONDS`` over it."""

DEFAULT_YOUTUBE_DAILY_QUOTA = 9000
"""YouTube Data API units all workers together may spend per UTC day (``MILES_YOUTUBE_DAILY_QUOTA``);
the API's default project quota is 10,000, and the rest is headroom for manual use."""
SCRAPE_DEDUPE_WINDOW_SECONDS = 600
"""Identical on-demand scrape requests (same normalised topic and limits) within this window share a job."""
DEFAULT_RETENTION_DAYS = 30
"""Snapshots and video items expire this many days after they were last written (``MILES_RETENTION_DAYS``):
the YouTube API Services Developer Policies allow storing API data no longer than 30 days unless refreshed."""


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the message names the variable."""


def env_str(name: str, default: str | None = None) -> str | None:
    """A string setting (``default`` when unset or empty)."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_required(name: str) -> str:
    """A setting the component cannot run without."""
    value = env_str(name)
    if value is None:
        raise ConfigError(f"environment variable {name} is required but not set")
    return value


def env_int(name: str, default: int) -> int:
    """An integer setting."""
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from error


def env_float(name: str, default: float) -> float:
    """A float setting."""
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise ConfigError(f"environment variable {name} must be a number, got {raw!r}") from error


def env_list(name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A comma-separated list setting."""
    raw = env_str(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())
