"""One loader of a trained model directory, shared by ``miles restack`` and the studies."""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.studies.calibration_drift import components
from miles_core.inference.artifact import CARD_FILE, ModelCard
from miles_core.training.data import REGIMES
from miles_core.training.restack import restack
from miles_core.training.trained import TrainedModel


def test_the_loader_gives_every_part_and_the_val_arrays(tiny_trained: Path, tiny_data: Path) -> None:
    model = TrainedModel.load(tiny_trained, None)
    rows = model.rows(tiny_data, "val")
    assert rows
    arrays = model.arrays(rows)
    assert set(arrays) == set(REGIMES)
    assert all(len(arrays[regime].is_viral) == len(rows) for regime in REGIMES)
    assert model.trees.decision(arrays["post_publish"].numeric).shape[0] == len(rows)
    assert model.neighbours.score(arrays["pre_publish"].embedding).shape == (len(rows),)


def test_restack_and_the_drift_study_load_through_it(tiny_trained: Path, tiny_data: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_trained, tmp_path / "trained")
    card = restack(copy, tiny_data, cache_dir=None, measure_served=False)
    assert card.model_dump()["training"]["restacked_on"]["split"] == "val"
    assert ModelCard.load(copy / CARD_FILE).model_version == card.model_version  # written back
    rows = TrainedModel.load(copy, None).rows(tiny_data, "val")
    parts = components(copy, tiny_data, tmp_path / "cache")
    assert set(parts) == set(REGIMES)
    assert all(len(parts[regime].days) == len(rows) for regime in REGIMES)
