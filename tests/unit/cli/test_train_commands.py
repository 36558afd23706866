"""``miles evaluate`` JSON shape, ``miles export`` and the torch-free serving path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from miles_core.cli import main
from tests.support.paths import REPO_ROOT

METRIC_KEYS = {"auroc", "pr_auc", "brier", "ece", "velocity_mae_log1p", "velocity_spearman"}


@pytest.mark.parametrize("split", [None, "val"])
def test_evaluate_prints_the_issue_json(
    tiny_artifact: Path, tiny_data: Path, split: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", "--model", str(tiny_artifact), "--data", str(tiny_data), "--json"]
    assert main([*argv, "--split", split] if split else argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert set(result) == {
        "n",
        "post_publish",
        "pre_publish",
        "breakout",
        "pre_publish_known_channel",
        "pre_publish_unknown_channel",
        "model_version",
        "references_val",
    }
    assert result["n"] == (50 if split else 200)
    assert result["model_version"] == "tiny-test"
    for regime in ("post_publish", "pre_publish"):
        metrics = result[regime]
        assert set(metrics) == METRIC_KEYS
        assert all(isinstance(metrics[k], float) for k in METRIC_KEYS)
        assert 0.0 <= metrics["auroc"] <= 1.0
        assert 0.0 <= metrics["ece"] <= 1.0
        assert set(result["breakout"][regime]) == {"auroc", "pr_auc", "brier", "ece"}
    known, unknown = result["pre_publish_known_channel"], result["pre_publish_unknown_channel"]
    assert known["n"] + unknown["n"] == result["n"]
    assert {"boosted_trees", "szabo_huberman", "logistic_tfidf_only"} <= set(result["references_val"])


def test_evaluate_of_a_trained_directory_exports_first(
    tiny_trained: Path, tiny_data: Path, tiny_artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A trained directory scores exactly like the artifact exported from it (deterministic export)."""
    assert main(["evaluate", "--model", str(tiny_trained), "--data", str(tiny_data), "--json"]) == 0
    from_trained = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--model", str(tiny_artifact), "--data", str(tiny_data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == from_trained


def test_export_command_writes_an_artifact(tiny_trained: Path, tmp_path: Path) -> None:
    assert main(["export", "--model", str(tiny_trained), "--out", str(tmp_path / "art")]) == 0
    assert {p.name for p in (tmp_path / "art").iterdir()} >= {
        "model.onnx",
        "encoder.onnx",
        "encoder.onnx.data",
        "head.onnx",
        "serving_graphs.json",
        "tokenizer.json",
        "feature_spec.json",
        "model_card.json",
        "score_reference.json",
    }


def test_evaluate_without_breakout_labels_skips_them(
    tiny_artifact: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV without ``is_viral_rel`` still evaluates; its breakout metrics are null."""
    import csv

    with tiny_data.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [f for f in reader.fieldnames or [] if f != "is_viral_rel"]
        rows = [{k: row[k] for k in fields} for row in reader]
    stripped = tmp_path / "no_breakout.csv"
    with stripped.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    assert main(["evaluate", "--model", str(tiny_artifact), "--data", str(stripped), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["breakout"] == {"post_publish": None, "pre_publish": None}
    assert result["post_publish"]["auroc"] is not None


def test_evaluate_prints_a_comparison_table(
    tiny_artifact: Path, tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", "--model", str(tiny_artifact), "--data", str(tiny_data), "--split", "val"]) == 0
    out = capsys.readouterr().out
    assert "| served model (50 rows) |" in out
    assert "| boosted_trees (val, card) |" in out


def test_serving_path_imports_neither_torch_nor_transformers(tiny_artifact: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from miles_core.inference import Predictor; "
        "from miles_core.observation import Observation; "
        f"p = Predictor(Path({str(tiny_artifact)!r}), threads=1); p.predict([Observation(title='hello')]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers', 'sklearn'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
