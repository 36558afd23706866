"""``miles export-dataset``: snapshots -> benchmark rows that the benchmark loader reads back."""

from __future__ import annotations

import argparse
import csv
from datetime import timedelta
from pathlib import Path

import pytest

from miles_core.cli import scrape_commands
from miles_core.dataset import BENCHMARK_COLUMNS, OWN_DATA_COLUMNS, load_benchmark
from miles_core.store import MilesStore, Snapshot
from miles_core.topics import normalize_topic
from tests.support.moto_table import NOW
from tests.support.youtube import video


def test_export_pairs_first_sighting_with_the_snapshot_closest_to_24h(
    store: MilesStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = {
        "a": [(0, 1000), (6, 5000), (23, 40000), (30, 50000)],
        "b": [(0, 10), (6, 20)],
        "c": [(0, 100), (25, 900000)],
    }
    for vid, points in plan.items():
        for hours, views in points:
            scraped = video(vid, views, hours=hours)
            store.upsert_video(scraped, topic=normalize_topic("t"), run_id=f"r{hours}")
            store.append_snapshot(Snapshot(vid, f"r{hours}", NOW + timedelta(hours=hours), scraped.stats))
    out = tmp_path / "own.csv"
    parser = argparse.ArgumentParser(prog="miles")
    scrape_commands.register(parser.add_subparsers(dest="command", required=True))  # as miles_core.cli does
    args = parser.parse_args(["export-dataset", "--out", str(out)])
    assert args.handler(args) == 0
    with out.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == (*BENCHMARK_COLUMNS, *OWN_DATA_COLUMNS)
        rows = {row["video_id"]: row for row in reader}
    assert set(rows) == {"a", "c"}  # b has no snapshot ~24 h later
    a = rows["a"]
    assert a["view_count"] == "1000"
    assert a["next_view_count"] == "40000"  # 23 h beats 30 h
    assert float(a["hours_between"]) == pytest.approx(23.0)
    assert float(a["velocity_views_per_hour"]) == pytest.approx(39000 / 23)
    assert float(a["age_hours"]) == pytest.approx(5.0)
    assert a["is_viral"] == "0"
    assert rows["c"]["is_viral"] == "1"
    assert (a["split"], rows["c"]["split"]) == ("train", "val")  # the latest t0 (ties by id) is val
    assert a["cohort"] == a["snapshot_age_hours"] == ""  # found by a search, never re-read at a fixed age
    loaded = load_benchmark(out)
    assert sorted(str(r.observation.video_id) for r in loaded.rows) == ["a", "c"]
