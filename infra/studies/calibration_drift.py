"""Does the stacking's calibration hold on later months? A time-ordered study on val, re-runnable.

``python -m infra.studies.calibration_drift`` loads the committed model's network, trees and text-neighbour
prior (not its stacking), builds val inputs through THE feature pipeline, sorts val by ``observed_at`` and, for
several cut points, fits each calibration method on the rows before the cut and measures the rows after it:
the honest picture of "fitted on one month, served the next". Printed per method and regime, averaged over the
cuts: ECE of the viral probability, its noise floor (the ECE the same probabilities would show if they were
perfectly calibrated: a few hundred later rows cannot show less) and the excess over it, log loss, Brier and
AUROC; then post-publish velocity Spearman.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infra.studies.arguments import add_trained_model_arguments, study_parser
from miles_core.accuracy.metrics import auroc, brier, expected_calibration_error, sigmoid, spearman
from miles_core.training.calibration import TEMPERING, fit_logistic, temper
from miles_core.training.data import REGIMES
from miles_core.training.trained import TrainedModel, days_since_first, in_time_order

CUTS = (0.4, 0.5, 0.6, 0.7)
"""Fractions of time-ordered val used for fitting; the rest (always later) is measured."""


@dataclass(frozen=True)
class Components:
    """What the stacking combines, per val row of one regime, in time order."""

    network: np.ndarray
    side: np.ndarray
    """Post-publish: the boosted trees' viral score; pre-publish: the text-neighbour prior."""
    labels: np.ndarray
    velocity: np.ndarray
    predicted_velocity: np.ndarray
    days: np.ndarray
    """Days since the first val observation."""


Method = Callable[[Components, np.ndarray, np.ndarray], np.ndarray]
"""(components, fit rows, measured rows) -> calibrated logits of the measured rows."""


def _design(c: Components, rows: np.ndarray) -> np.ndarray:
    return np.stack([c.network[rows], c.side[rows]], axis=1)


def _apply(weights: tuple[float, ...], features: np.ndarray) -> np.ndarray:
    w = np.asarray(weights)
    return np.asarray(features @ w[:-1] + w[-1])


def stacking_all(c: Components, fit: np.ndarray, measure: np.ndarray) -> np.ndarray:
    """The shipped method: one logistic regression on every fit row."""
    return _apply(fit_logistic(_design(c, fit), c.labels[fit]), _design(c, measure))


def _recent(fraction: float) -> Method:
    def method(c: Components, fit: np.ndarray, measure: np.ndarray) -> np.ndarray:
        recent = fit[int(len(fit) * (1 - fraction)) :]
        return _apply(fit_logistic(_design(c, recent), c.labels[recent]), _design(c, measure))

    return method


def _bias_on_recent(fraction: float) -> Method:
    """Weights from every fit row; the bias alone re-fitted on the most recent ``fraction`` of them."""

    def method(c: Components, fit: np.ndarray, measure: np.ndarray) -> np.ndarray:
        weights = fit_logistic(_design(c, fit), c.labels[fit])
        recent = fit[int(len(fit) * (1 - fraction)) :]
        offset = _apply(weights, _design(c, recent))
        (scale, bias) = fit_logistic(offset[:, None], c.labels[recent])
        return scale * _apply(weights, _design(c, measure)) + bias

    return method


def _tempered(factor: float) -> Method:
    """Stacking, then the logit pulled towards the fit rows' base rate (what ``TEMPERING`` ships)."""

    def method(c: Components, fit: np.ndarray, measure: np.ndarray) -> np.ndarray:
        weights = temper(fit_logistic(_design(c, fit), c.labels[fit]), c.labels[fit], factor)
        return _apply(weights, _design(c, measure))

    return method


METHODS: dict[str, Method] = {
    "stacking, all fit rows": stacking_all,
    "stacking, last 50% of fit rows": _recent(0.5),
    "stacking, bias on last 50%": _bias_on_recent(0.5),
    **{f"stacking, tempered x{factor:.2f}": _tempered(factor) for factor in (0.95, 0.9, 0.85, 0.8, 0.75, 0.7)},
}


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(probabilities, 1e-12, 1 - 1e-12)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def calibrated_eces(probabilities: np.ndarray, n: int, draws: int = 200) -> np.ndarray:
    """ECEs of PERFECTLY calibrated predictions on ``n`` of the rows: labels drawn from the probabilities."""
    rng = np.random.default_rng(0)
    values = []
    for _ in range(draws):
        p = rng.choice(probabilities, n, replace=False)
        values.append(expected_calibration_error((rng.random(n) < p).astype(float), p))
    return np.asarray(values)


def ece_noise_floor(probabilities: np.ndarray, n: int, draws: int = 200) -> float:
    """Mean ECE of perfectly calibrated predictions on ``n`` rows: what sampling noise alone shows."""
    return float(np.mean(calibrated_eces(probabilities, n, draws)))


def velocity_methods(c: Components, fit: np.ndarray, measure: np.ndarray) -> dict[str, np.ndarray]:
    """Post-publish velocity: the network's output, and a least-squares blend with the tree score."""
    blend = np.stack([c.predicted_velocity, c.side, np.ones_like(c.side)], axis=1)
    coef, *_ = np.linalg.lstsq(blend[fit], c.velocity[fit], rcond=None)
    return {"network velocity (shipped)": c.predicted_velocity[measure], "velocity + trees": blend[measure] @ coef}


def components(model_dir: Path, data: Path, cache_dir: Path) -> dict[str, Components]:
    model = TrainedModel.load(model_dir, cache_dir)
    rows = in_time_order(model.rows(data, "val"))
    days = days_since_first(rows)
    out = {}
    for regime, o in model.outputs(rows).items():
        out[regime] = Components(o.viral, o.side("viral"), o.arrays.is_viral, o.arrays.log_velocity, o.velocity, days)
    return out


def measure(method: Method, c: Components) -> dict[str, float]:
    """``method`` fitted before each cut and measured after it, averaged over :data:`CUTS`.

    ``floor`` is the ECE the same probabilities would show if they were perfectly calibrated (labels drawn
    from them), so ``excess`` = ECE - floor is the part of the error that calibration could remove.
    """
    n = len(c.labels)
    scores = []
    for cut in CUTS:
        fit, measured = np.arange(int(n * cut)), np.arange(int(n * cut), n)
        p = sigmoid(method(c, fit, measured))
        y = c.labels[measured]
        ece = expected_calibration_error(y, p)
        floor = ece_noise_floor(p, len(p))
        scores.append((ece, floor, ece - floor, log_loss(y, p), brier(y, p), auroc(y, p)))
    return dict(zip(("ece", "floor", "excess", "log_loss", "brier", "auroc"), np.mean(scores, axis=0), strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(__doc__)
    add_trained_model_arguments(parser)
    args = parser.parse_args(argv)
    parts = components(args.model, args.data, args.cache_dir)
    n = len(parts["pre_publish"].labels)
    print(f"val rows: {n}, {parts['pre_publish'].days[-1]:.0f} days; cuts at {CUTS} of time-ordered val")
    for regime in REGIMES:
        print(f"\n{regime} (viral target; floor = ECE of perfectly calibrated probabilities, excess = ECE - floor)")
        print("| method | ECE | floor | excess | log loss | Brier | AUROC |")
        print("|---|---|---|---|---|---|---|")
        for name, method in METHODS.items():
            m = measure(method, parts[regime])
            cells = [f"{m['ece']:.4f}", f"{m['floor']:.4f}", f"{m['excess']:+.4f}"]
            cells += [f"{m[key]:.4f}" for key in ("log_loss", "brier", "auroc")]
            print(f"| {name} | " + " | ".join(cells) + " |")
    bar = 0.03
    print(f"\nThe shipped stacking ({TEMPERING}) fitted on all val, its labels redrawn from its own probabilities:")
    print(f"| regime | mean ECE at n = {n - int(n * CUTS[-1])} / {n // 2} / {n} | share of draws <= {bar} at n = {n} |")
    print("|---|---|---|")
    for regime in REGIMES:
        everything = np.arange(n)
        fitted = sigmoid(_tempered(TEMPERING[regime])(parts[regime], everything, everything))
        floors = " / ".join(f"{ece_noise_floor(fitted, m):.4f}" for m in (n - int(n * CUTS[-1]), n // 2, n))
        print(f"| {regime} | {floors} | {np.mean(calibrated_eces(fitted, n, 500) <= bar):.2f} |")
    post = parts["post_publish"]
    print("\n| velocity (post-publish) | Spearman |")
    print("|---|---|")
    results: dict[str, list[float]] = {}
    for cut in CUTS:
        fit, measured = np.arange(int(n * cut)), np.arange(int(n * cut), n)
        for name, predicted in velocity_methods(post, fit, measured).items():
            results.setdefault(name, []).append(spearman(post.velocity[measured], predicted))
    for name, values in results.items():
        print(f"| {name} | {np.mean(values):.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
