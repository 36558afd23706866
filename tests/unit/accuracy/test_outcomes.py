"""The one label function reproduces the benchmark's own labels, cell for cell, on the real dev file."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime, timedelta

import pytest

from miles_core.accuracy.outcomes import DEFAULT_WINDOW, outcome
from miles_core.store import parse_iso
from tests.support.paths import BENCHMARK_DATA


def test_the_label_of_every_dev_row_matches_the_benchmark() -> None:
    with gzip.open(BENCHMARK_DATA / "miles_benchmark_dev.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5578
    for row in rows:
        label = outcome(
            int(row["view_count"]),
            parse_iso(row["observed_at"]),
            int(row["next_view_count"]),
            parse_iso(row["next_observed_at"]),
        )
        assert label.hours_between == pytest.approx(float(row["hours_between"]), abs=1e-4), row["video_id"]
        assert label.velocity_views_per_hour == pytest.approx(float(row["velocity_views_per_hour"]), abs=1e-3)
        assert int(label.is_viral) == int(row["is_viral"]), row["video_id"]
        assert int(label.is_viral_rel) == int(row["is_viral_rel"]), row["video_id"]
        assert DEFAULT_WINDOW.contains(label.hours_between)


def test_growth_from_zero_views_is_undefined_and_not_a_breakout() -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    label = outcome(0, start, 500, start + timedelta(hours=24))
    assert label.log_growth is None
    assert not label.is_viral_rel
    assert label.velocity_views_per_hour == pytest.approx(500 / 24)


def test_an_outcome_must_come_after_the_score() -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="later"):
        outcome(10, start, 20, start)
