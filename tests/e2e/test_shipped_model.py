"""The shipped model reproduces its model card and keeps its quality on val."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BENCHMARK_DATA, REPO_ROOT
from tests.e2e.conftest import SHIPPED_MODEL

DEV_CSV = BENCHMARK_DATA / "miles_benchmark_dev.csv.gz"


@pytest.fixture(scope="module")
def val_report(shipped_artifact: Path) -> dict:
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
    return json.loads(result.stdout)


def test_evaluate_reproduces_the_card(val_report: dict) -> None:
    card = json.loads((SHIPPED_MODEL / "model_card.json").read_text())
    assert val_report["model_version"] == card["model_version"]
    assert val_report["n"] == card["training"]["val_rows"]
    for regime in ("post_publish", "pre_publish"):
        for metric, value in card["metrics"]["val_served"][regime].items():
            assert val_report[regime][metric] == pytest.approx(value, abs=1e-4), (regime, metric)


def test_shipped_model_beats_its_baselines_on_val(val_report: dict) -> None:
    card = json.loads((SHIPPED_MODEL / "model_card.json").read_text())
    baseline = card["metrics"]["baselines_val"]["logistic_scalars_tfidf"]
    for regime in ("post_publish", "pre_publish"):
        assert val_report[regime]["auroc"] > baseline[regime]["auroc"], regime
        assert val_report[regime]["ece"] <= 0.05, regime
    assert val_report["post_publish"]["auroc"] > card["metrics"]["baselines_val"]["views_only"]["post_publish"]["auroc"]
