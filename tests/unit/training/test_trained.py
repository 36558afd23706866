"""One loader of a trained model directory, shared by ``miles restack``, ``miles train``'s stacking and the studies."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from infra.studies.calibration_drift import components
from miles_core.inference.artifact import CARD_FILE, ModelCard
from miles_core.training.data import REGIMES
from miles_core.training.restack import restack
from miles_core.training.trained import TrainedModel, days_since_first, in_time_order
from miles_core.training.trainer import all_head_outputs


def test_the_loader_gives_every_part_and_the_val_arrays(tiny_trained: Path, tiny_data: Path) -> None:
    model = TrainedModel.load(tiny_trained, None)
    rows = model.rows(tiny_data, "val")
    assert rows
    arrays = model.arrays(rows)
    assert set(arrays) == set(REGIMES)
    assert all(len(arrays[regime].is_viral) == len(rows) for regime in REGIMES)
    assert model.trees.decision(arrays["post_publish"].numeric).shape[0] == len(rows)
    assert model.neighbours.score(arrays["pre_publish"].embedding).shape == (len(rows),)


def test_outputs_are_the_network_and_the_side_score_each_regime_stacks(tiny_trained: Path, tiny_data: Path) -> None:
    model = TrainedModel.load(tiny_trained, None)
    rows = model.rows(tiny_data, "val")
    arrays = model.arrays(rows)
    outputs = model.outputs(rows)
    assert list(outputs) == list(REGIMES)
    for regime in REGIMES:
        raw = outputs[regime]
        viral, velocity, breakout = all_head_outputs(model.head, arrays[regime])
        np.testing.assert_array_equal(raw.network("viral"), viral)
        np.testing.assert_array_equal(raw.network("breakout"), breakout)
        np.testing.assert_array_equal(raw.velocity, velocity)
        np.testing.assert_array_equal(raw.labels("viral"), arrays[regime].is_viral)
        np.testing.assert_array_equal(raw.labels("breakout"), arrays[regime].breakout)
    # Post-publish the trees' score of the target; pre-publish the text-neighbour prior (the same for both targets).
    post, pre = outputs["post_publish"], outputs["pre_publish"]
    trees = model.trees.decision(arrays["post_publish"].numeric)
    np.testing.assert_array_equal(post.side("viral"), trees[:, 0])
    np.testing.assert_array_equal(post.side("breakout"), trees[:, 1])
    assert not np.array_equal(post.side("viral"), post.side("breakout"))
    prior = model.neighbours.score(arrays["pre_publish"].embedding)
    np.testing.assert_array_equal(pre.side("viral"), prior)
    np.testing.assert_array_equal(pre.side("breakout"), prior)


def test_rows_in_time_order_and_their_days(tiny_trained: Path, tiny_data: Path) -> None:
    rows = TrainedModel.load(tiny_trained, None).rows(tiny_data, "val")
    ordered = in_time_order(list(reversed(rows)))
    stamps = [row.observation.observed_at for row in ordered if row.observation.observed_at is not None]
    assert len(stamps) == len(rows)
    assert stamps == sorted(stamps)
    assert len(set(stamps)) > 1
    days = days_since_first(ordered)
    assert days[0] == 0
    assert days[-1] == pytest.approx((stamps[-1] - stamps[0]).total_seconds() / 86400)
    undated = dataclasses.replace(rows[0], observation=rows[0].observation.model_copy(update={"observed_at": None}))
    with pytest.raises(ValueError, match="no observed_at"):
        in_time_order([*rows, undated])


def test_restack_and_the_drift_study_load_through_it(tiny_trained: Path, tiny_data: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_trained, tmp_path / "trained")
    card = restack(copy, tiny_data, cache_dir=None, measure_served=False)
    assert card.model_dump()["training"]["restacked_on"]["split"] == "val"
    assert ModelCard.load(copy / CARD_FILE).model_version == card.model_version  # written back
    model = TrainedModel.load(copy, None)
    outputs = model.outputs(in_time_order(model.rows(tiny_data, "val")))
    parts = components(copy, tiny_data, tmp_path / "cache")
    assert set(parts) == set(REGIMES)
    for regime in REGIMES:
        np.testing.assert_array_equal(parts[regime].network, outputs[regime].viral)
        np.testing.assert_array_equal(parts[regime].side, outputs[regime].side("viral"))
        assert len(parts[regime].days) == len(outputs[regime].viral)
