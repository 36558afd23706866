"""Metrics and calibration against scikit-learn and known answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from miles_core.accuracy.metrics import auroc, expected_calibration_error, pr_auc, reliability_table, spearman
from miles_core.training.calibration import best_f1_threshold, fit_platt


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    # Rounded scores create ties, the case where hand-written AUROC/AP usually go wrong.
    scores = np.round(labels * 0.8 + rng.normal(size=500), 1)
    return labels, scores


def test_auroc_and_pr_auc_match_sklearn(scored: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = scored
    assert auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert pr_auc(labels, scores) == pytest.approx(average_precision_score(labels, scores), abs=1e-12)


def test_ece_known_answer() -> None:
    # Two bins used: [0.2] x2 with one positive (|0.2-0.5|), [0.9] x2 with two positives (|0.9-1|).
    labels = np.array([0, 1, 1, 1])
    probabilities = np.array([0.2, 0.2, 0.9, 0.9])
    assert expected_calibration_error(labels, probabilities) == pytest.approx(0.5 * 0.3 + 0.5 * 0.1)
    assert expected_calibration_error(np.array([1]), np.array([1.0])) == 0.0  # p == 1 falls in the last bin


def test_spearman_is_rank_based() -> None:
    x = np.arange(20.0)
    assert spearman(x, np.exp(x)) == pytest.approx(1.0)
    assert spearman(x, -(x**3)) == pytest.approx(-1.0)


def test_platt_recovers_known_scale_and_bias() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=20000)
    labels = rng.random(20000) < 1 / (1 + np.exp(-(0.5 * logits - 1.0)))
    scale, bias = fit_platt(logits, labels)
    assert scale == pytest.approx(0.5, abs=0.05)
    assert bias == pytest.approx(-1.0, abs=0.08)


def test_threshold_separates_a_separable_set() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    probabilities = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    threshold = best_f1_threshold(labels, probabilities)
    assert 0.3 < threshold <= 0.7
    assert list(probabilities >= threshold) == [False, False, False, True, True]


def test_the_reliability_table_is_the_ece_bin_by_bin() -> None:
    rng = np.random.default_rng(5)
    probabilities = np.append(rng.uniform(size=300), 1.0)  # 1.0 falls in the last bin
    labels = (rng.uniform(size=301) < probabilities).astype(float)
    table = reliability_table(labels, probabilities)
    assert sum(row["n"] for row in table) == 301
    assert table[-1]["upper"] == 1.0
    assert all(row["lower"] <= row["mean_probability"] <= row["upper"] for row in table)
    weighted = sum(row["n"] * abs(row["mean_probability"] - row["observed_rate"]) for row in table) / 301
    assert weighted == pytest.approx(expected_calibration_error(labels, probabilities), abs=1e-5)
