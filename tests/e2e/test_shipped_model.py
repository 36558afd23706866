"""The shipped model reproduces its model card and keeps its quality on val."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import DEV_CSV, REPO_ROOT, SHIPPED_MODEL


@pytest.fixture(scope="module")
def val_report(shipped_artifact: Path) -> dict[str, Any]:
    if not DEV_CSV.exists():
        pytest.fail(f"missing {DEV_CSV}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "miles_core.cli",
            "evaluate",
            "--model",
            str(shipped_artifact),
            "--data",
            str(DEV_CSV),
            "--split",
            "val",
            "--json",
        ],
        check=True,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _served_sections(card: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    """Every metric table of ``val_served`` by its path: the two regimes, breakout per regime, channel splits."""
    served = card["metrics"]["val_served"]
    tables: dict[tuple[str, ...], dict[str, Any]] = {
        (name,): table for name, table in served.items() if name != "breakout"
    }
    tables.update({("breakout", regime): table for regime, table in served["breakout"].items()})
    return tables


def _at(report: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        report = report[key]
    return report


def test_evaluate_reproduces_the_card(val_report: dict[str, Any]) -> None:
    card = json.loads((SHIPPED_MODEL / "model_card.json").read_text())
    assert val_report["model_version"] == card["model_version"]
    assert val_report["n"] == card["training"]["val_rows"]
    sections = _served_sections(card)
    assert {("post_publish",), ("pre_publish",), ("breakout", "post_publish"), ("pre_publish_unknown_channel",)} <= set(
        sections
    )
    for path, table in sections.items():
        for metric, value in table.items():
            assert _at(val_report, path)[metric] == pytest.approx(value, abs=1e-4), (path, metric)


def test_shipped_model_beats_its_references_on_val(val_report: dict[str, Any]) -> None:
    """The model's bar on val: above boosted trees post-publish, at or above the best logistic pre-publish."""
    references = json.loads((SHIPPED_MODEL / "model_card.json").read_text())["metrics"]["references_val"]
    for name in ("views_only", "szabo_huberman", "boosted_trees", "logistic_scalars_tfidf"):
        assert val_report["post_publish"]["auroc"] > references[name]["post_publish"]["auroc"], name
    best_pre = references[references["best_pre_publish_logistic"]]["pre_publish"]["auroc"]
    assert val_report["pre_publish"]["auroc"] >= best_pre
    for regime in ("post_publish", "pre_publish"):
        assert val_report[regime]["ece"] <= 0.05, regime
        assert val_report["breakout"][regime]["ece"] <= 0.05, regime
    trees_breakout = references["boosted_trees"]["breakout"]["post_publish"]["auroc"]
    assert val_report["breakout"]["post_publish"]["auroc"] > trees_breakout


def test_more_early_views_never_lower_the_viral_probability(shipped_artifact: Path) -> None:
    """Post-publish stats push the shipped model the right way, from a dead start to a hit.

    Three hours after publishing, 3 views is a dead start and 3 million (a million views an hour, far over
    the 26k views/hour viral line) a hit: each step up the ladder raises the viral probability and the
    predicted velocity, and only the hit is on the viral side. (Asked of the shipped model: the tiny test
    artifact, trained on 200 rows for seconds, has no such guarantee at the bottom of its range.)
    """
    from datetime import UTC, datetime, timedelta
    from itertools import pairwise

    from miles_core.inference import Predictor
    from miles_core.observation import Observation

    published = datetime(2026, 1, 10, 12, tzinfo=UTC)
    ladder = [(3, 0, 0), (300, 10, 1), (30_000, 1_000, 50), (3_000_000, 200_000, 9_000)]
    observations = [
        Observation(
            title="I tried the 5 AM routine for 30 days #shorts",
            description="what happened",
            tags=("morning routine", "productivity"),
            category_id=22,
            published_at=published,
            observed_at=published + timedelta(hours=3),
            view_count=views,
            like_count=likes,
            comment_count=comments,
        )
        for views, likes, comments in ladder
    ]
    predictions = Predictor(shipped_artifact, threads=1).predict(observations)
    probabilities = [p.viral_probability for p in predictions]
    velocities = [p.predicted_velocity_views_per_hour for p in predictions]
    assert all(low < high for low, high in pairwise(probabilities)), probabilities
    assert all(low < high for low, high in pairwise(velocities)), velocities
    assert [p.is_viral for p in predictions] == [False, False, False, True]
