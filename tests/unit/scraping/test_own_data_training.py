"""Miles learning from its own data, end to end and offline.

Two days of recorded Data API responses (``tests/fixtures/youtube_data_api/fresh``) -> the scheduled
scrape (top and fresh cohorts) -> fixed-age re-snapshots -> ``miles export-dataset`` -> a tiny
``miles train`` on the union with the benchmark sample -> ``miles export`` -> a model that loads,
reads duration and subscriber count, and scores.
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from miles_core.cli import scrape_commands
from miles_core.dataset import OWN_DATA_COLUMNS, load_benchmark
from miles_core.features.pipeline import BASE_FEATURES, OPTIONAL_FEATURES
from miles_core.features.spec import FeatureSpec
from miles_core.inference.predictor import Predictor
from miles_core.observation import Observation
from miles_core.scraping.fixed_age_snapshots import run_fixed_age_snapshots
from miles_core.scraping.quota import DailyQuota
from miles_core.scraping.schedule import run_scheduled
from miles_core.scraping.youtube_api import YouTubeDataApiSource
from miles_core.store import MilesStore, iso
from miles_core.topics import normalize_topic
from miles_core.training.onnx_export import export_trained
from miles_core.training.train import train
from tests.support.moto_table import TABLE
from tests.support.tiny_artifact import build_tiny_encoder, sample_with_val, tiny_train_options
from tests.support.youtube import FreshUploadsApi

TICKS = (datetime(2026, 10, 9, 6, 0, tzinfo=UTC), datetime(2026, 10, 10, 6, 0, tzinfo=UTC))
RESNAPSHOT_RUNS = (
    datetime(2026, 10, 9, 6, 45, tzinfo=UTC),
    datetime(2026, 10, 9, 11, 45, tzinfo=UTC),
    datetime(2026, 10, 10, 5, 45, tzinfo=UTC),
    datetime(2026, 10, 10, 8, 0, tzinfo=UTC),
)


class Clock:
    def __init__(self) -> None:
        self.moment = TICKS[0]

    def __call__(self) -> datetime:
        return self.moment


def collect_two_days(store: MilesStore) -> None:
    """The schedule and the re-snapshot job, in time order, on the recorded responses."""
    clock = Clock()
    api = FreshUploadsApi(clock)
    try:
        quota = DailyQuota(store, daily_budget=9000, clock=clock)
        source = YouTubeDataApiSource("k", base_url=api.base_url, clock=clock, spend=quota.spend)
        for moment in sorted((*TICKS, *RESNAPSHOT_RUNS)):
            clock.moment = moment
            if moment in TICKS:
                outcomes = run_scheduled(store, [source], iso(moment), niches=[normalize_topic("funny animals")])
                assert all(o.status.value == "succeeded" for o in outcomes)
            else:
                outcome = run_fixed_age_snapshots(store, source, moment)
                assert outcome.taken > 0
                assert outcome.errors == []
    finally:
        api.close()


def export_dataset(out: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    monkeypatch.setenv("MILES_TABLE_NAME", TABLE)
    parser = argparse.ArgumentParser(prog="miles")
    scrape_commands.register(parser.add_subparsers(dest="command", required=True))  # as miles_core.cli does
    args = parser.parse_args(["export-dataset", "--out", str(out)])
    assert args.handler(args) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_two_recorded_days_scrape_resnapshot_export_train_and_score(
    store: MilesStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collect_two_days(store)
    exported = tmp_path / "own.csv"
    rows = export_dataset(exported, monkeypatch)

    # Day 1's fresh uploads were read at 1 h and 24 h: one labelled row each, t0 = the 1 h reading.
    # Day 2's have no reading a day later yet: no row.
    assert rows
    assert set(OWN_DATA_COLUMNS) <= set(rows[0])
    for row in rows:
        assert row["cohort"] == "fresh"
        assert row["snapshot_age_hours"] == "1"
        assert 1.0 <= float(row["age_hours"]) <= 1.5
        assert float(row["hours_between"]) == pytest.approx(23.0, abs=0.6)
        assert float(row["duration_seconds"]) <= 180
    assert sum(row["channel_subscribers"] != "" for row in rows) >= len(rows) - 5  # a few channels hide it
    assert {row["split"] for row in rows} == {"train", "val"}
    loaded = load_benchmark(exported, "train")
    assert all(r.observation.duration_seconds is not None for r in loaded.rows)

    encoder = build_tiny_encoder(tmp_path / "encoder")
    sample = sample_with_val(tmp_path / "sample_with_val.csv")
    trained = tmp_path / "trained"
    card = train(tiny_train_options((sample, exported), trained, encoder))
    assert card.model_dump()["training_data"]["file"] == f"{sample.name}+{exported.name}"
    spec = FeatureSpec.load(trained / "feature_spec.json")
    optional = [name for names in OPTIONAL_FEATURES.values() for name in names]
    assert spec.numeric_names[len(BASE_FEATURES) : len(BASE_FEATURES) + len(optional)] == optional

    artifact = export_trained(trained, tmp_path / "artifact")
    predictor = Predictor(artifact.parent)
    idea = Observation(title="Puppy meets a kitten for the first time", category_id=15)
    sized = [
        idea.model_copy(update={"duration_seconds": 30.0, "channel_follower_count": subscribers})
        for subscribers in (100, 1_000_000)
    ]
    scores = predictor.predict([idea, *sized])
    assert all(0.0 < s.viral_probability < 1.0 for s in scores)
    # the new inputs reach the model: a channel's size changes the score of the same idea
    assert scores[1].viral_probability != scores[2].viral_probability


def test_a_spec_fitted_on_benchmark_rows_alone_has_no_optional_features(tmp_path: Path) -> None:
    """The shipped model's inputs stay as they were: the benchmark records no duration or channel size.

    Its 24 durations all sit in the sample's rows, so a share of rows alone would let them in there.
    """
    from miles_core.features.pipeline import optional_features_present

    rows = load_benchmark(sample_with_val(tmp_path / "sample.csv"), "train").observations
    assert sum(r.duration_seconds is not None for r in rows) >= 10
    assert optional_features_present([rows]) == []
    recorded = [r.model_copy(update={"duration_seconds": 20.0}) for r in rows[:20]]
    assert optional_features_present([rows, recorded]) == ["log_duration_seconds", "duration_known"]


def test_the_shipped_spec_reads_neither_duration_nor_subscribers() -> None:
    """The committed model computes exactly the inputs it computed before: the new values change nothing."""
    import numpy as np

    from miles_core.features.pipeline import numeric_inputs

    shipped = FeatureSpec.load(
        Path(__file__).resolve().parents[3] / "miles_core" / "artifacts" / "default" / "feature_spec.json"
    )
    assert [name for names in OPTIONAL_FEATURES.values() for name in names if name in shipped.numeric_names] == []
    ideas = [
        Observation(title="Puppy meets a kitten", category_id=15),
        Observation(title="5 minute pasta", tags=("food",)),
    ]
    sized = [o.model_copy(update={"duration_seconds": 30.0, "channel_follower_count": 10**6}) for o in ideas]
    np.testing.assert_array_equal(numeric_inputs(ideas, shipped), numeric_inputs(sized, shipped))
