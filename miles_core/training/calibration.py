"""Per-regime Platt calibration and the decision threshold, both fitted on val only.

Val lies after YouTube retired its Trending page (faster turnover than most of train), so a
head trained on train is mis-calibrated there; two numbers per regime (scale, bias) fitted on
val logits correct that without touching the ranking.
"""

from __future__ import annotations

import numpy as np

from miles_core.accuracy.metrics import sigmoid

PLATT_L2 = 1e-3
"""A whisker of ridge on (scale, bias) keeps the fit finite on tiny or separable val sets."""

TEMPERING = {"pre_publish": 0.8, "post_publish": 0.9}
"""Per regime, the factor that pulls the stacked viral logit towards val's base rate.

A stacking fitted on val and served on later months is over-confident: fitted on the earlier part of
time-ordered val and measured on the later part, log loss and Brier are lowest near these factors
(``python -m infra.studies.calibration_drift`` prints the grid). Ranking (AUROC) is unchanged.
"""


def _platt_loss(design: np.ndarray, y: np.ndarray, params: np.ndarray) -> float:
    z = design @ params
    # log(1 + exp(z)) - y z, computed stably.
    return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * PLATT_L2 * params @ params)


def fit_platt(logits: np.ndarray, labels: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """(scale, bias) minimising log loss of ``sigmoid(scale * logit + bias)``."""
    scale, bias = fit_logistic(np.asarray(logits, dtype=np.float64)[:, None], labels, iterations)
    return scale, bias


def fit_logistic(features: np.ndarray, labels: np.ndarray, iterations: int = 100) -> tuple[float, ...]:
    """Weights (one per column of ``features``) and a bias minimising log loss, rounded to 6 decimals.

    With one column this is Platt scaling; with (network logit, tree score) it is stacking and
    calibration in one fit. Newton steps with backtracking (a plain Newton step can overshoot badly
    from (1, 0, ...) when the inputs are far too confident), so the loss never increases. Rows with
    a NaN label are skipped; without both classes the identity (1, 0, ..., 0) is returned.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    known = ~np.isnan(y)
    x, y = x[known], y[known]
    width = x.shape[1]
    identity = np.r_[1.0, np.zeros(width)]
    if len(x) == 0 or y.min() == y.max():
        return tuple(float(v) for v in identity)
    params = identity.copy()
    design = np.hstack([x, np.ones((len(x), 1))])
    loss = _platt_loss(design, y, params)
    for _ in range(iterations):
        p = sigmoid(design @ params)
        gradient = design.T @ (p - y) + PLATT_L2 * params
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + PLATT_L2 * np.eye(width + 1)
        step = np.linalg.solve(hessian, gradient)
        size = 1.0
        while size > 1e-8:
            candidate = params - size * step
            candidate_loss = _platt_loss(design, y, candidate)
            if candidate_loss <= loss:
                break
            size /= 2.0
        else:
            break
        converged = np.max(np.abs(candidate - params)) < 1e-10
        params, loss = candidate, candidate_loss
        if converged:
            break
    return tuple(round(float(v), 6) for v in params)


def temper(weights: tuple[float, ...], labels: np.ndarray, factor: float) -> tuple[float, ...]:
    """``weights`` (feature weights, then bias) rescaled so the logit moves ``factor`` of the way from the
    labels' base-rate logit: ``base + factor * (logit - base)``. The same affine form, so the artifact's
    graph and its files need nothing new.
    """
    y = np.asarray(labels, dtype=np.float64)
    rate = float(np.nanmean(y))
    if not 0.0 < rate < 1.0:
        return weights
    base = float(np.log(rate / (1.0 - rate)))
    *scales, bias = weights
    return (*(round(factor * w, 6) for w in scales), round(factor * bias + (1.0 - factor) * base, 6))


def apply_platt(logits: np.ndarray, scale_bias: tuple[float, float]) -> np.ndarray:
    """Calibrated logits."""
    return np.asarray(logits, dtype=np.float64) * scale_bias[0] + scale_bias[1]


def best_f1_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The probability threshold with the highest F1 (ties: the lowest such threshold).

    Returned as the midpoint between the chosen score and the next lower one, so the decision
    does not hinge on float noise between torch and the int8 ONNX graph.
    """
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(probabilities, dtype=np.float64)
    if not y.any():
        return 0.5
    order = np.argsort(-p, kind="mergesort")
    sorted_p, sorted_y = p[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(sorted_p))[0], len(p) - 1]
    true_positives = np.cumsum(sorted_y)[distinct]
    predicted = distinct + 1
    f1 = 2 * true_positives / (predicted + y.sum())
    best = int(np.argmax(f1))
    chosen = sorted_p[distinct[best]]
    below = sorted_p[distinct[best] + 1] if distinct[best] + 1 < len(p) else 0.0
    return round(float((chosen + below) / 2.0), 6)
