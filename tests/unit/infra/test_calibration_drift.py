"""The calibration study's noise floor: it must separate sampling noise from real miscalibration."""

from __future__ import annotations

import numpy as np

from infra.studies.calibration_drift import Components, ece_noise_floor, measure, stacking_all


def _components(rows: int, shift: float, seed: int = 0) -> Components:
    """Rows whose labels follow sigmoid(network) before the middle and sigmoid(network + shift) after it."""
    rng = np.random.default_rng(seed)
    network = rng.normal(-1.5, 1.5, rows)
    side = rng.normal(0.0, 1.0, rows)
    later = np.arange(rows) >= rows // 2
    truth = 1.0 / (1.0 + np.exp(-(network + shift * later)))
    labels = (rng.random(rows) < truth).astype(float)
    zeros = np.zeros(rows)
    return Components(network, side, labels, zeros, zeros, np.arange(rows, dtype=float))


def test_noise_floor_is_the_ece_of_calibrated_probabilities_and_shrinks_with_rows() -> None:
    probabilities = np.random.default_rng(1).uniform(0.02, 0.6, 4000)
    small, large = ece_noise_floor(probabilities, 250), ece_noise_floor(probabilities, 4000)
    assert 0.03 < small < 0.09
    assert large < small / 2.5  # about 1 / sqrt(16) of it


def test_excess_is_near_zero_without_drift_and_grows_with_it() -> None:
    steady = measure(stacking_all, _components(4000, shift=0.0))
    drifted = measure(stacking_all, _components(4000, shift=-1.0))
    assert abs(steady["excess"]) < 0.01
    assert drifted["excess"] > 0.05
    assert drifted["ece"] > steady["ece"] + 0.05
