"""The benchmark CSV schema: reading it into observations + targets, and the column list.

Every CSV Miles reads or writes (the shared dev file, a held-back test file, ``miles
export-dataset`` output, which adds :data:`OWN_DATA_COLUMNS`) uses this schema. Bad rows are never
turned into NaN features: a missing column is an error, a bad row is skipped, counted by reason and
logged.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from miles_core.observation import Observation

logger = logging.getLogger(__name__)

FEATURE_COLUMNS = (
    "video_id",
    "observed_at",
    "published_at",
    "title",
    "description",
    "tags",
    "category_id",
    "default_audio_language",
    "country",
    "trending_rank",
    "countries_at_t0",
    "channel_id",
    "channel_title",
    "duration_seconds",
    "view_count",
    "like_count",
    "comment_count",
    "age_hours",
)
TARGET_COLUMNS = (
    "next_observed_at",
    "next_view_count",
    "next_like_count",
    "next_comment_count",
    "hours_between",
    "velocity_views_per_hour",
    "log_growth",
    "is_viral",
    "is_viral_rel",
)
BENCHMARK_COLUMNS = ("video_id", "split", *FEATURE_COLUMNS[1:], *TARGET_COLUMNS)
OWN_DATA_COLUMNS = ("cohort", "channel_subscribers", "channel_subscribers_read_at", "snapshot_age_hours")
"""What ``miles export-dataset`` adds to the benchmark's columns: how the video entered tracking (``top`` or
``fresh``), its channel's subscriber count at t0 and when it was read, and t0's fixed age in hours (1, 6,
24, 48; blank when t0 was a search's sighting). ``channel_subscribers`` is read as a feature; the others
describe the row."""
EXPORT_COLUMNS = (*BENCHMARK_COLUMNS, *OWN_DATA_COLUMNS)
REQUIRED_COLUMNS = (
    "video_id",
    "title",
    "published_at",
    "observed_at",
    "view_count",
    "velocity_views_per_hour",
    "is_viral",
)


class DatasetError(ValueError):
    """The file cannot be used at all (missing columns, unreadable, no usable rows)."""


@dataclass(frozen=True)
class LabelledObservation:
    """One benchmark row: what was known at t0, and what happened in the next ~24 h."""

    observation: Observation
    velocity_views_per_hour: float
    is_viral: int
    is_viral_rel: int | None = None
    """Breakout label (views grow >= ~2.3x in ~24 h); None when the file has no such column/value."""
    next_view_count: int | None = None
    """Views at the next snapshot (the Szabo-Huberman reference's target); None when absent."""
    hours_between: float | None = None


@dataclass
class LoadedDataset:
    """Usable rows plus a count of skipped rows per reason."""

    rows: list[LabelledObservation]
    skipped: Counter[str] = field(default_factory=Counter)
    sources: list[list[Observation]] = field(default_factory=list)
    """The rows' observations per file they came from (:func:`load_union`; empty for one file)."""

    @property
    def observations(self) -> list[Observation]:
        return [row.observation for row in self.rows]


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _optional_int(value: str) -> int | None:
    value = value.strip()
    if value == "":
        return None
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def _optional_float(value: str) -> float | None:
    value = value.strip()
    if value == "":
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _finite(value: str, column: str) -> float:
    """A required finite number ('nan', 'inf' and blanks are errors, never NaN features or targets)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{column} is not a finite number: {value!r}")
    return number


def _optional_label(value: str, column: str) -> int | None:
    """An optional 0/1 label: blank -> None, anything else must be 0 or 1."""
    number = _optional_float(value)
    if number is None:
        return None
    if number not in (0.0, 1.0):
        raise ValueError(f"{column} must be 0 or 1, got {value!r}")
    return int(number)


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))


def row_to_observation(row: dict[str, str]) -> Observation:
    """One CSV row (benchmark schema) -> Observation. Raises ValueError on unusable data."""
    tags = tuple(t for t in (row.get("tags") or "").split("|") if t.strip())
    return Observation(
        video_id=row["video_id"] or None,
        title=row["title"],
        description=row.get("description") or "",
        tags=tags,
        category_id=_optional_int(row.get("category_id", "")),
        language=(row.get("default_audio_language") or None),
        channel_id=row.get("channel_id") or None,
        channel_title=row.get("channel_title") or None,
        published_at=_timestamp(row["published_at"]),
        observed_at=_timestamp(row["observed_at"]),
        duration_seconds=_optional_float(row.get("duration_seconds", "")),
        view_count=_optional_int(row["view_count"]),
        like_count=_optional_int(row.get("like_count", "")),
        comment_count=_optional_int(row.get("comment_count", "")),
        channel_follower_count=_optional_int(row.get("channel_subscribers", "")),
    )


def row_to_next_observation(row: dict[str, str]) -> Observation:
    """The same video at the row's next snapshot (``next_*`` columns): what a scrape ~24 h later saw.

    Raises ValueError (or KeyError) when the row has no usable next snapshot.
    """
    return row_to_observation(
        {
            **row,
            "observed_at": row["next_observed_at"],
            "view_count": row["next_view_count"],
            "like_count": row.get("next_like_count", ""),
            "comment_count": row.get("next_comment_count", ""),
        }
    )


def _skip_reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"invalid {'.'.join(str(p) for p in first['loc']) or 'row'}: {first['msg']}"
    return f"bad value: {error}"[:120]


def iter_csv_rows(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a benchmark-schema CSV (plain or .gz), after checking the required columns."""
    if not path.exists():
        raise DatasetError(f"{path}: file not found")
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{path}: missing required column(s) {', '.join(missing)}")
        yield from reader


def load_benchmark(
    path: Path, split: str | None = None, supported_languages: Sequence[str] | None = None
) -> LoadedDataset:
    """Read usable labelled rows; ``split=None`` keeps every row (for held-back files)."""
    dataset = LoadedDataset(rows=[])
    for line, row in enumerate(iter_csv_rows(path), start=2):
        if split is not None and row.get("split") != split:
            continue
        try:
            observation = row_to_observation(row)
            velocity = _finite(row["velocity_views_per_hour"], "velocity_views_per_hour")
            is_viral = int(_finite(row["is_viral"], "is_viral"))
            if is_viral not in (0, 1):
                raise ValueError(f"is_viral must be 0 or 1, got {row['is_viral']!r}")
            is_viral_rel = _optional_label(row.get("is_viral_rel", ""), "is_viral_rel")
            next_views = _optional_int(row.get("next_view_count", ""))
            hours_between = _optional_float(row.get("hours_between", ""))
        except (ValueError, KeyError) as error:
            reason = _skip_reason(error)
            dataset.skipped[reason] += 1
            logger.warning("skipping %s line %d (video %s): %s", path.name, line, row.get("video_id"), reason)
            continue
        if observation.view_count is None:
            dataset.skipped["missing view_count"] += 1
            continue
        language = (observation.language or "").split("-")[0].lower()
        if supported_languages is not None and language not in supported_languages:
            dataset.skipped[f"unsupported language {observation.language!r}"] += 1
            continue
        dataset.rows.append(
            LabelledObservation(observation, velocity, is_viral, is_viral_rel, next_views, hours_between)
        )
    if split is not None and not dataset.rows and not dataset.skipped:
        raise DatasetError(f"{path}: no rows with split == {split!r}")
    if not dataset.rows:
        raise DatasetError(f"{path}: no usable rows (skipped: {dict(dataset.skipped)})")
    if dataset.skipped:
        logger.warning("%s: skipped %d rows: %s", path.name, sum(dataset.skipped.values()), dict(dataset.skipped))
    return dataset


def load_union(paths: Sequence[Path], split: str, supported_languages: Sequence[str] | None = None) -> LoadedDataset:
    """One split of several benchmark-schema files read as one (``miles train --data A --data B``).

    Each file is split by time on its own (its ``split`` column); a file without rows of ``split``
    adds none, and only a union with no usable row at all is an error.
    """
    union = LoadedDataset(rows=[])
    errors: list[str] = []
    for path in paths:
        try:
            part = load_benchmark(path, split, supported_languages)
        except DatasetError as error:
            errors.append(str(error))
            continue
        union.rows.extend(part.rows)
        union.skipped.update(part.skipped)
        union.sources.append(part.observations)
    if not union.rows:
        raise DatasetError("; ".join(errors) or f"no rows with split == {split!r}")
    return union
