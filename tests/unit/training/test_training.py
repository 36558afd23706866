"""Tiny-model training through the real ``miles train`` path: outputs, card, reproducibility."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from miles_core.inference.artifact import ARTIFACT_FILES, ModelCard
from miles_core.training.model_dir import QUANTIZATION_RANGES_FILE, TRAINED_FILES
from miles_core.training.neighbours import NEIGHBOURS_FILE
from miles_core.training.onnx_export import export_trained
from miles_core.training.train import train
from tests.support.tiny_artifact import tiny_train_options

MAX_COMMITTED_BYTES = 5 * 1024 * 1024
CLASSIFICATION_KEYS = {"auroc", "pr_auc", "brier", "ece"}
REGIME_KEYS = {"auroc", "pr_auc", "brier", "ece", "velocity_mae_log1p", "velocity_spearman"}


def test_trained_directory_has_small_files_and_a_full_card(tiny_trained: Path) -> None:
    for name in (*TRAINED_FILES, QUANTIZATION_RANGES_FILE):
        path = tiny_trained / name
        assert path.is_file(), name
        assert path.stat().st_size < MAX_COMMITTED_BYTES, name
    card = ModelCard.load(tiny_trained / "model_card.json")
    extra = card.model_dump()
    assert len(extra["training_data"]["sha256"]) == 64
    assert extra["code"]["commit"]
    assert 0.0 < card.threshold < 1.0
    references = card.metrics["references_val"]
    for regime in ("post_publish", "pre_publish"):
        assert set(card.metrics["val_torch"][regime]) == REGIME_KEYS
        assert set(card.metrics["val_torch"]["breakout"][regime]) == CLASSIFICATION_KEYS
        for name in ("logistic_scalars_tfidf", "logistic_tfidf_only", "boosted_trees"):
            assert set(references[name][regime]) == REGIME_KEYS, name
            assert set(references[name]["breakout"][regime]) == CLASSIFICATION_KEYS, name
    for name in ("views_only", "szabo_huberman"):
        assert set(references[name]["post_publish"]) == REGIME_KEYS
        assert references[name]["pre_publish"] is None
    assert references["szabo_huberman"]["post_publish"]["velocity_spearman"] is not None
    assert references["best_pre_publish_logistic"] in ("logistic_scalars_tfidf", "logistic_tfidf_only")
    assert {"pre_publish_known_channel", "pre_publish_unknown_channel"} <= set(card.metrics["val_torch"])
    bundle = json.loads((tiny_trained / "head_config.json").read_text())
    assert set(bundle["stacking"]) == {"pre_publish", "post_publish"}
    for target in ("viral", "breakout"):
        assert len(bundle["stacking"]["pre_publish"][target]) == 4
        assert bundle["stacking"]["pre_publish"][target][1] == 0.0  # trees are post-publish only
        assert bundle["stacking"]["post_publish"][target][2] == 0.0  # text neighbours are pre-publish only
    assert card.model_dump()["training"]["text_neighbours"]["videos"] > 0
    reference = json.loads((tiny_trained / "score_reference.json").read_text())
    assert reference["post_publish"] == sorted(reference["post_publish"])
    assert len(reference["pre_publish"]) == card.model_dump()["training"]["val_rows"]


def test_training_and_export_are_reproducible(
    tiny_work: Path, tiny_trained: Path, tiny_artifact: Path, tmp_path: Path
) -> None:
    """Same data, encoder and seed -> byte-identical head weights and byte-identical model.onnx."""
    again = tmp_path / "trained"
    train(tiny_train_options(tiny_work / "sample_with_val.csv", again, tiny_work / "encoder"))
    assert (again / "head.safetensors").read_bytes() == (tiny_trained / "head.safetensors").read_bytes()
    assert (again / "feature_spec.json").read_bytes() == (tiny_trained / "feature_spec.json").read_bytes()
    assert (again / "trees.safetensors").read_bytes() == (tiny_trained / "trees.safetensors").read_bytes()
    assert (again / NEIGHBOURS_FILE).read_bytes() == (tiny_trained / NEIGHBOURS_FILE).read_bytes()
    exported = export_trained(tiny_trained, tmp_path / "artifact")
    assert exported.read_bytes() == (tiny_artifact / "model.onnx").read_bytes()
    assert all((tmp_path / "artifact" / name).is_file() for name in ARTIFACT_FILES)


def test_a_different_seed_gives_a_different_head(tiny_work: Path, tiny_trained: Path, tmp_path: Path) -> None:
    other = tmp_path / "trained"
    train(tiny_train_options(tiny_work / "sample_with_val.csv", other, tiny_work / "encoder", seed=1))
    assert (other / "head.safetensors").read_bytes() != (tiny_trained / "head.safetensors").read_bytes()


def test_export_refuses_a_model_without_committed_quantization_ranges(tiny_trained: Path, tmp_path: Path) -> None:
    """Ranges measured on the build machine would make the int8 graph depend on its fp32 rounding."""
    copy = tmp_path / "trained"
    shutil.copytree(tiny_trained, copy)
    (copy / QUANTIZATION_RANGES_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="miles calibrate"):
        export_trained(copy, tmp_path / "artifact")
