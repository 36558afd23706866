"""Evaluation metrics, in numpy only, so every number in a model card is computed one way.

ECE uses 15 equal-width probability bins over [0, 1]: the sum over bins of
(bin share of rows) x |mean predicted probability - observed positive rate|.
"""

from __future__ import annotations

import math

import numpy as np

ECE_BINS = 15
METRIC_KEYS = ("auroc", "pr_auc", "brier", "ece", "velocity_mae_log1p", "velocity_spearman")


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (as in Spearman and Mann-Whitney)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U); NaN when only one class is present."""
    labels = np.asarray(labels, dtype=bool)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = average_ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (step-wise area under precision-recall, as scikit-learn computes it)."""
    labels = np.asarray(labels, dtype=bool)
    positives = int(labels.sum())
    if positives == 0:
        return math.nan
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # Evaluate only at the last index of each run of tied scores.
    distinct = np.r_[np.nonzero(np.diff(sorted_scores))[0], len(scores) - 1]
    true_positives = np.cumsum(sorted_labels)[distinct]
    precision = true_positives / (distinct + 1)
    recall = true_positives / positives
    previous_recall = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - previous_recall) * precision))


def brier(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    return float(np.mean((np.asarray(probabilities, dtype=np.float64) - np.asarray(labels, dtype=np.float64)) ** 2))


def _bin_index(probabilities: np.ndarray, bins: int) -> np.ndarray:
    """Each probability's equal-width bin (a probability of exactly 1.0 falls in the last bin)."""
    index: np.ndarray = np.minimum((probabilities * bins).astype(int), bins - 1)
    return index


def reliability_table(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS
) -> list[dict[str, float | int]]:
    """The bins behind the ECE: per non-empty bin, its bounds, rows, mean probability and observed positive rate."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    index = _bin_index(probabilities, bins)
    table: list[dict[str, float | int]] = []
    for b in range(bins):
        members = index == b
        if members.any():
            table.append(
                {
                    "lower": round(b / bins, 6),
                    "upper": round((b + 1) / bins, 6),
                    "n": int(members.sum()),
                    "mean_probability": round(float(probabilities[members].mean()), 6),
                    "observed_rate": round(float(labels[members].mean()), 6),
                }
            )
    return table


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE over ``bins`` equal-width bins (a probability of exactly 1.0 falls in the last bin)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    index = _bin_index(probabilities, bins)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.mean() * abs(probabilities[members].mean() - labels[members].mean())
    return float(total)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (Pearson on average ranks); NaN when either side is constant."""
    ranks_a = average_ranks(np.asarray(a, dtype=np.float64))
    ranks_b = average_ranks(np.asarray(b, dtype=np.float64))
    if ranks_a.std() == 0 or ranks_b.std() == 0:
        return math.nan
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Numerically safe logistic function."""
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(logits, dtype=np.float64), -60.0, 60.0)))


def regime_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    true_log_velocity: np.ndarray,
    predicted_log_velocity: np.ndarray | None,
) -> dict[str, float | None]:
    """The six metrics of one regime; velocity metrics are None for a classifier without them."""
    result: dict[str, float | None] = {
        "auroc": auroc(labels, probabilities),
        "pr_auc": pr_auc(labels, probabilities),
        "brier": brier(labels, probabilities),
        "ece": expected_calibration_error(labels, probabilities),
        "velocity_mae_log1p": None,
        "velocity_spearman": None,
    }
    if predicted_log_velocity is not None:
        result["velocity_mae_log1p"] = float(np.mean(np.abs(predicted_log_velocity - true_log_velocity)))
        result["velocity_spearman"] = spearman(true_log_velocity, predicted_log_velocity)
    return {key: (None if value is None or math.isnan(value) else round(value, 6)) for key, value in result.items()}


CLASSIFICATION_KEYS = ("auroc", "pr_auc", "brier", "ece")


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float | None] | None:
    """AUROC, PR-AUC, Brier and ECE on the rows whose label is known (not NaN); None when none are."""
    labels = np.asarray(labels, dtype=np.float64)
    known = ~np.isnan(labels)
    if not known.any():
        return None
    full = regime_metrics(labels[known], np.asarray(probabilities)[known], np.zeros(int(known.sum())), None)
    return {key: full[key] for key in CLASSIFICATION_KEYS}


def evaluation_report(
    *,
    is_viral: np.ndarray,
    log_velocity: np.ndarray,
    breakout: np.ndarray,
    known_channel: np.ndarray,
    viral_probability: dict[str, np.ndarray],
    predicted_log_velocity: dict[str, np.ndarray | None],
    breakout_probability: dict[str, np.ndarray | None],
) -> dict[str, object]:
    """One model's val (or test) report: both regimes, breakout per regime, pre-publish by channel.

    ``known_channel`` marks rows whose channel is in the spec's channel-prior table (seen in
    training); the pre-publish split by it is the number a new creator cares about. Breakout
    metrics are None when the file has no ``is_viral_rel``.
    """
    report: dict[str, object] = {}
    for regime, probabilities in viral_probability.items():
        report[regime] = regime_metrics(is_viral, probabilities, log_velocity, predicted_log_velocity[regime])
    report["breakout"] = {
        regime: None if probabilities is None else classification_metrics(breakout, probabilities)
        for regime, probabilities in breakout_probability.items()
    }
    if "pre_publish" in viral_probability:
        pre, velocity = viral_probability["pre_publish"], predicted_log_velocity["pre_publish"]
        for name, rows in (("known_channel", known_channel), ("unknown_channel", ~known_channel)):
            report[f"pre_publish_{name}"] = {
                "n": int(rows.sum()),
                **regime_metrics(
                    is_viral[rows], pre[rows], log_velocity[rows], None if velocity is None else velocity[rows]
                ),
            }
    return report
