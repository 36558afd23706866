"""Miles' own snapshots -> benchmark-schema rows (t0 + the snapshot ~24 h later), plus its own columns.

Same definition as the shared benchmark (``infra/data/benchmark/README.md``), so the model can be
retrained on what Miles collected: features are what was known at t0 (the earliest fixed-age
snapshot that has a label, else the first sighting), the targets come from the snapshot closest to
24 h after it (within a window), never from t0 itself. Rows add ``cohort``, the channel's subscriber
count read with t0 and t0's fixed age (:data:`~miles_core.dataset.OWN_DATA_COLUMNS`), and are split
``train``/``val`` by time, so ``miles train --data`` reads the file alone or beside the benchmark.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from pathlib import Path

from miles_core.accuracy.outcomes import OutcomeWindow, hours_between, outcome
from miles_core.dataset import EXPORT_COLUMNS
from miles_core.store import Snapshot, VideoRecord, iso

DEFAULT_VAL_FRACTION = 0.2
"""The benchmark's dev file keeps its latest 18 % of rows (990 of 5,578) as val; 20 % is the round figure."""


def _closest_label(first: Snapshot, later: list[Snapshot], window: OutcomeWindow) -> tuple[Snapshot, float] | None:
    best: tuple[float, Snapshot, float] | None = None
    for candidate in later:
        hours = hours_between(first.stats.observed_at, candidate.stats.observed_at)
        if window.contains(hours):
            distance = abs(hours - window.target_hours)
            if best is None or distance < best[0]:
                best = (distance, candidate, hours)
    return (best[1], best[2]) if best else None


def _pair(snapshots: list[Snapshot], window: OutcomeWindow) -> tuple[Snapshot, Snapshot, float] | None:
    """(t0, labelling snapshot, hours between): t0 is the earliest fixed-age snapshot that has a label,
    else the first sighting, so rows of tracked videos share their t0 age (usually 1 h)."""
    usable = [s for s in snapshots if s.stats.view_count is not None]
    fixed = [i for i, s in enumerate(usable) if s.fixed_age_hours is not None]
    for index in [*fixed, 0] if usable else []:
        label = _closest_label(usable[index], usable[index + 1 :], window)
        if label is not None:
            return usable[index], label[0], label[1]
    return None


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
        read_at = first.channel_subscribers_read_at
        row = {
            "video_id": video.video_id,
            "split": "train",
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
            "cohort": video.cohort.value if video.cohort else "",
            "channel_subscribers": _cell(first.channel_subscribers),
            "channel_subscribers_read_at": iso(read_at) if read_at else "",
            "snapshot_age_hours": _cell(first.fixed_age_hours),
        }
        yield {column: row.get(column, "") for column in EXPORT_COLUMNS}


def split_by_time(rows: list[dict[str, str]], val_fraction: float) -> list[dict[str, str]]:
    """The latest ``val_fraction`` of rows by t0 (ties by id) become ``val``, the rest ``train``: the
    benchmark's own rule, so ``miles train`` selects on the newest rows and never trains on them."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError("val_fraction must be in [0, 1)")
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["observed_at"], rows[i]["video_id"]))
    n_val = math.ceil(val_fraction * len(rows)) if len(rows) > 1 else 0
    for position, index in enumerate(order):
        rows[index]["split"] = "val" if position >= len(rows) - n_val else "train"
    return rows


def write_csv(
    path: Path,
    histories: Iterable[tuple[VideoRecord, list[Snapshot]]],
    window: OutcomeWindow,
    val_fraction: float = DEFAULT_VAL_FRACTION,
) -> int:
    """Write the export (split by time, see :func:`split_by_time`); returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    labelled = split_by_time(list(rows(histories, window)), val_fraction)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(EXPORT_COLUMNS), quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        writer.writerows(labelled)
    return len(labelled)
