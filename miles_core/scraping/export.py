"""Miles' own snapshots -> benchmark-schema rows (first sighting + the next snapshot ~24 h later).

Same definition as the shared benchmark (``infra/data/benchmark/README.md``), so the model can be
retrained on what Miles collected: features are what was known at the first sighting t0, the
targets come from the snapshot closest to 24 h after it (within a window), never from t0 itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from miles_core.accuracy.outcomes import OutcomeWindow, hours_between, outcome
from miles_core.dataset import BENCHMARK_COLUMNS
from miles_core.store import Snapshot, VideoRecord, iso

EXPORT_SPLIT = "miles"


def _pair(snapshots: list[Snapshot], window: OutcomeWindow) -> tuple[Snapshot, Snapshot, float] | None:
    usable = [s for s in snapshots if s.stats.view_count is not None]
    if len(usable) < 2:
        return None
    first = usable[0]
    best: tuple[float, Snapshot, float] | None = None
    for later in usable[1:]:
        hours = hours_between(first.stats.observed_at, later.stats.observed_at)
        if window.contains(hours):
            distance = abs(hours - window.target_hours)
            if best is None or distance < best[0]:
                best = (distance, later, hours)
    return (first, best[1], best[2]) if best else None


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def rows(histories: Iterable[tuple[VideoRecord, list[Snapshot]]], window: OutcomeWindow) -> Iterator[dict[str, str]]:
    """One benchmark row per video that has a first sighting and a labelling snapshot."""
    for video, snapshots in histories:
        pair = _pair(snapshots, window)
        if pair is None:
            continue
        first, later, hours = pair
        now_views, next_views = first.stats.view_count or 0, later.stats.view_count or 0  # _pair kept known counts
        obs = video.observation
        label = outcome(now_views, first.stats.observed_at, next_views, later.stats.observed_at)
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
            "velocity_views_per_hour": f"{label.velocity_views_per_hour:.4f}",
            "log_growth": f"{label.log_growth:.6f}" if label.log_growth is not None else "",
            "is_viral": str(int(label.is_viral)),
            "is_viral_rel": str(int(label.is_viral_rel)),
        }
        yield {column: row.get(column, "") for column in BENCHMARK_COLUMNS}


def write_csv(path: Path, histories: Iterable[tuple[VideoRecord, list[Snapshot]]], window: OutcomeWindow) -> int:
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
