"""Tempering the stacked viral logit towards the base rate (calibration that holds on later months)."""

from __future__ import annotations

import numpy as np
import pytest

from miles_core.training.calibration import temper


def test_tempering_moves_the_logit_part_way_to_the_base_rate() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(50, 2))
    labels = (rng.random(50) < 0.2).astype(float)
    weights = (1.5, -0.5, -1.0)
    tempered = np.asarray(temper(weights, labels, 0.8))
    base = np.log(labels.mean() / (1 - labels.mean()))
    logits = features @ np.asarray(weights[:-1]) + weights[-1]
    expected = base + 0.8 * (logits - base)
    assert features @ tempered[:-1] + tempered[-1] == pytest.approx(expected, abs=1e-5)


def test_tempering_keeps_the_ranking_and_identity_at_one() -> None:
    labels = np.array([0, 1, 0, 0, 1], dtype=float)
    assert temper((2.0, 0.5, -1.0), labels, 1.0) == pytest.approx((2.0, 0.5, -1.0))
    assert all(w > 0 for w in temper((2.0, 0.5, -1.0), labels, 0.5)[:2])


def test_tempering_without_both_classes_changes_nothing() -> None:
    assert temper((2.0, -1.0), np.zeros(4), 0.8) == (2.0, -1.0)
