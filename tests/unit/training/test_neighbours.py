"""The text-neighbour prior: its numpy reference, its file, and the same numbers from the served graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from miles_core.training.encoder import load_encoder
from miles_core.training.neighbours import NEIGHBOURS_FILE, TextNeighbours
from miles_core.training.onnx_export import serving_model


def _unit(rows: np.ndarray) -> np.ndarray:
    unit: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return unit


def test_score_is_the_mean_over_the_k_most_similar_videos() -> None:
    table = np.eye(4, dtype=np.float32)
    neighbours = TextNeighbours.fit(table * 3.0, np.array([1.0, 2.0, 4.0, 8.0]), k=2)
    query = _unit(np.array([[1.0, 0.9, 0.1, 0.0], [0.0, 0.0, 0.2, 1.0]], dtype=np.float32))
    np.testing.assert_allclose(neighbours.score(query), [1.5, 6.0])
    # At full rank the projection is a rotation: every video keeps its unit length.
    assert neighbours.projection.shape == (4, 4)
    np.testing.assert_allclose(np.linalg.norm(neighbours.table.astype(np.float32), axis=1), 1.0, atol=2e-3)


def test_the_search_runs_on_the_top_principal_axes() -> None:
    rng = np.random.default_rng(2)
    # 200 videos in 16 dimensions whose spread lies almost all in the first 3 coordinates.
    videos = np.c_[rng.normal(size=(200, 3)) * 5.0, rng.normal(size=(200, 13)) * 0.01]
    neighbours = TextNeighbours.fit(videos, rng.normal(size=200), k=10, rank=3)
    assert neighbours.projection.shape == (16, 3)
    assert neighbours.table.shape == (200, 3)
    axes = neighbours.projection.astype(np.float64)
    np.testing.assert_allclose(axes.T @ axes, np.eye(3), atol=2e-3)
    assert np.abs(axes[3:]).max() < 0.05  # the axes span the spread, not the noise
    queries = _unit(videos[:20])
    exact = np.argsort(-(queries @ _unit(videos).T), axis=1)[:, :10]
    np.testing.assert_allclose(neighbours.score(queries), neighbours.log_velocity[exact].mean(axis=1), atol=0.15)


def test_k_is_capped_at_the_number_of_videos_and_bad_tables_are_refused() -> None:
    neighbours = TextNeighbours.fit(np.ones((3, 2)), np.array([1.0, 2.0, 3.0]), k=30)
    assert neighbours.k == 3
    np.testing.assert_allclose(neighbours.score(np.array([[1.0, 0.0]])), [2.0])
    with pytest.raises(ValueError, match="one log velocity per training embedding"):
        TextNeighbours.fit(np.ones((3, 2)), np.array([1.0, 2.0]))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    neighbours = TextNeighbours.fit(rng.normal(size=(20, 8)), rng.normal(size=20), k=5)
    neighbours.save(tmp_path / NEIGHBOURS_FILE)
    again = TextNeighbours.load(tmp_path / NEIGHBOURS_FILE)
    np.testing.assert_array_equal(again.projection, neighbours.projection)
    np.testing.assert_array_equal(again.table, neighbours.table)
    np.testing.assert_array_equal(again.log_velocity, neighbours.log_velocity)
    assert again.k == 5
    with pytest.raises(FileNotFoundError, match="retrain with `miles train`"):
        TextNeighbours.load(tmp_path / "missing.safetensors")


def test_the_serving_graph_computes_the_reference_prior(tiny_trained: Path, tiny_work: Path) -> None:
    """What training stacked with (numpy) is what the exported graph computes (torch -> ONNX parity is tested apart)."""
    model = serving_model(tiny_trained, load_encoder(str(tiny_work / "encoder")))
    neighbours = TextNeighbours.load(tiny_trained / NEIGHBOURS_FILE)
    queries = _unit(np.random.default_rng(1).normal(size=(16, neighbours.projection.shape[0])).astype(np.float32))
    with torch.no_grad():
        served = model.neighbours(torch.from_numpy(queries)).numpy()
    np.testing.assert_allclose(served, neighbours.score(queries), atol=1e-6)
    assert np.ptp(served) > 0  # the prior varies with the text, so the check above can fail
