"""Miles' own snapshots -> benchmark-schema rows (first sighting + the next snapshot ~24 h later).

Same definition as the shared benchmark (``infra/data/benchmark/README.md``), so the model can be
retrained on what Miles collected: features are what was known at the first sighting t0, the
targets come from the snapshot closest to 24 h after it (within a window), never from t0 itself.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from miles_core.dataset import BENCHMARK_COLUMNS
from miles_core.store import Snapshot, VideoRecord, iso

VIRAL_VELOCITY_THRESHOLD = 26247.7
"""Views/hour: the benchmark's ``is_viral`` cut (80th percentile of its train split)."""
VIRAL_LOG_GROWTH_THRESHOLD = 0.8413
"""``ln(next/now views)``: the benchmark's ``is_viral_rel`` cut."""
EXPORT_SPLIT = "miles"


@dataclass(frozen=True)
class ExportWindow:
    """Which later snapshot labels t0: the one closest to ``target_hours`` inside [min, max]."""

    min_hours: float = 18.0
    max_hours: float = 30.0
    target_hours: float = 24.0


def _pair(snapshots: list[Snapshot], window: ExportWindow) -> tuple[Snapshot, Snapshot, float] | None:
    usable = [s for s in snapshots if s.stats.view_count is not None]
    if len(usable) < 2:
        return None
    first = usable[0]
    best: tuple[float, Snapshot, float] | None = None
    for later in usable[1:]:
        hours = (later.stats.observed_at - first.stats.observed_at).total_seconds() / 3600.0
        if window.min_hours <= hours <= window.max_hours:
            distance = abs(hours - window.target_hours)
            if best is None or distance < best[0]:
                best = (distance, later, hours)
    return (first, best[1], best[2]) if best else None


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def rows(histories: Iterable[tuple[VideoRecord, list[Snapshot]]], window: ExportWindow) -> Iterator[dict[str, str]]:
    """One benchmark row per video that has a first sighting and a labelling snapshot."""
    for video, snapshots in histories:
        pair = _pair(snapshots, window)
        if pair is None:
            continue
        first, later, hours = pair
        now_views, next_views = first.stats.view_count or 0, later.stats.view_count or 0  # _pair kept known counts
        obs = video.observation
        velocity = (next_views - now_views) / hours
        log_growth = math.log(next_views / now_views) if now_views > 0 and next_views > 0 else None
        age = (first.stats.observed_at - obs.published_at).total_seconds() / 3600.0 if obs.published_at else None
        row = {
            "video_id": video.video_id,
            "split": EXPORT_SPLIT,
            "observed_at": iso(first.stats.observed_at),
            "published_at": iso(obs.published_at) if obs.published_at else "",
            "title": obs.title,
            "description": obs.description,
            "tags": "|".join(obs.tags),
            "category_id": _cell(obs.category_id),
            "default_audio_language": _cell(obs.language),
            "country": "",
            "trending_rank": "",
            "countries_at_t0": "",
            "channel_id": _cell(obs.channel_id),
            "channel_title": _cell(obs.channel_title),
            "duration_seconds": _cell(obs.duration_seconds),
            "view_count": str(now_views),
            "like_count": _cell(first.stats.like_count),
            "comment_count": _cell(first.stats.comment_count),
            "age_hours": f"{age:.4f}" if age is not None else "",
            "next_observed_at": iso(later.stats.observed_at),
            "next_view_count": str(next_views),
            "next_like_count": _cell(later.stats.like_count),
            "next_comment_count": _cell(later.stats.comment_count),
            "hours_between": f"{hours:.4f}",
            "velocity_views_per_hour": f"{velocity:.4f}",
            "log_growth": f"{log_growth:.6f}" if log_growth is not None else "",
            "is_viral": str(int(velocity >= VIRAL_VELOCITY_THRESHOLD)),
            "is_viral_rel": str(int(log_growth is not None and log_growth >= VIRAL_LOG_GROWTH_THRESHOLD)),
        }
        yield {column: row.get(column, "") for column in BENCHMARK_COLUMNS}


def write_csv(path: Path, histories: Iterable[tuple[VideoRecord, list[Snapshot]]], window: ExportWindow) -> int:
    """Write the export; returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(BENCHMARK_COLUMNS), quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        for row in rows(histories, window):
            writer.writerow(row)
            count += 1
    return count
