"""References measured in the same run as the model, on the same rows, so the card compares like with like.

Every reference is fitted on ``train`` only; where it has a size to choose (boosted trees' number of
iterations) it is chosen on ``val``, as the model's own hyper-parameters are. Each reports
``post_publish`` / ``pre_publish`` viral metrics and ``breakout`` (``is_viral_rel``) per regime;
``None`` where a reference cannot score a regime (nothing is known of an idea's views).

* ``views_only``: logistic regression on log1p(views at t0).
* ``szabo_huberman``: Szabo & Huberman's log-linear model, ``log(views in ~24 h) = a + b log(views at
  t0) + c log(age)`` by least squares; its predicted velocity ranks ``is_viral`` and its predicted
  log growth ranks breakout (probabilities: a logistic fit of those on train).
* ``boosted_trees``: HistGradientBoosting on what a ``/predict`` caller can know (log views, likes,
  comments, their rates, log age, views per hour so far, publish hour and weekday, category, title
  length, tag count) plus the same out-of-fold channel prior; per regime and target.
* ``logistic_scalars_tfidf``: logistic regression on the pipeline's scalar features plus TF-IDF (1-2
  grams) of title and tags, per regime; ``logistic_tfidf_only``: the TF-IDF part alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from miles_core.accuracy.metrics import classification_metrics, regime_metrics, sigmoid
from miles_core.dataset import LabelledObservation
from miles_core.features import FeatureSpec
from miles_core.features.pipeline import STATS_FEATURES
from miles_core.training.data import REGIMES, RegimeArrays
from miles_core.training.trees import fit_boosted_trees

Reference = dict[str, Any]

CALLER_KNOWN_FEATURES = (
    *STATS_FEATURES,
    "publish_hour_sin",
    "publish_hour_cos",
    "publish_weekday_sin",
    "publish_weekday_cos",
    "title_chars",
    "log_tags",
    "channel_prior",
    "log_channel_videos",
    "channel_known",
)


def _title_and_tags(rows: Sequence[LabelledObservation]) -> list[str]:
    return [f"{r.observation.title} {' '.join(r.observation.tags)}" for r in rows]


def _logistic(x_train: Any, y_train: np.ndarray, x_val: Any, seed: int, c: float = 1.0) -> np.ndarray | None:
    """Val probabilities of a logistic regression fitted on the rows with a label (None without both classes)."""
    from sklearn.linear_model import LogisticRegression

    known = ~np.isnan(y_train)
    if len(np.unique(y_train[known])) < 2:
        return None
    model = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(x_train[known], y_train[known].astype(int))
    return np.asarray(model.predict_proba(x_val)[:, 1], dtype=np.float64)


def _entry(
    val: RegimeArrays, viral: np.ndarray | None, breakout: np.ndarray | None, velocity: np.ndarray | None = None
) -> tuple[dict[str, float | None] | None, dict[str, float | None] | None]:
    viral_metrics = None if viral is None else regime_metrics(val.is_viral, viral, val.log_velocity, velocity)
    breakout_metrics = None if breakout is None else classification_metrics(val.breakout, breakout)
    return viral_metrics, breakout_metrics


def _assemble(per_regime: dict[str, tuple[Any, Any]]) -> Reference:
    return {
        **{regime: per_regime[regime][0] if regime in per_regime else None for regime in REGIMES},
        "breakout": {regime: per_regime[regime][1] if regime in per_regime else None for regime in REGIMES},
    }


def views_only(train: dict[str, RegimeArrays], val: dict[str, RegimeArrays], spec: FeatureSpec, seed: int) -> Reference:
    """Post-publish: how far views at t0 alone go (absolute velocity tracks size)."""
    column = spec.numeric_names.index("log_views")
    t, v = train["post_publish"], val["post_publish"]
    x_train, x_val = t.numeric[:, [column]], v.numeric[:, [column]]
    viral = _logistic(x_train, t.is_viral, x_val, seed)
    breakout = _logistic(x_train, t.breakout, x_val, seed)
    return _assemble({"post_publish": _entry(v, viral, breakout)})


def _szabo_design(rows: Sequence[LabelledObservation]) -> np.ndarray:
    views = np.array([float(r.observation.view_count or 0) for r in rows])
    age = np.array([float(r.observation.age_hours or 0.0) for r in rows])
    return np.stack([np.ones(len(rows)), np.log1p(views), np.log1p(age)], axis=1)


def szabo_huberman(
    train_rows: Sequence[LabelledObservation],
    val_rows: Sequence[LabelledObservation],
    val: dict[str, RegimeArrays],
    seed: int,
) -> Reference:
    """Post-publish: log future views from log views and log age (least squares on train)."""
    usable = [r for r in train_rows if r.next_view_count is not None and r.hours_between]
    if len(usable) < 3:
        return _assemble({})
    design = _szabo_design(usable)
    future = np.log1p(np.array([float(r.next_view_count or 0) for r in usable]))
    coefficients, *_ = np.linalg.lstsq(design, future, rcond=None)
    horizon = float(np.mean([r.hours_between or 0.0 for r in usable]))

    def predictions(rows: Sequence[LabelledObservation]) -> tuple[np.ndarray, np.ndarray]:
        x = _szabo_design(rows)
        log_future = x @ coefficients
        log_velocity = np.log1p(np.maximum(np.expm1(log_future) - np.expm1(x[:, 1]), 0.0) / horizon)
        return log_velocity, log_future - x[:, 1]

    train_velocity, train_growth = predictions(usable)
    val_velocity, val_growth = predictions(val_rows)
    viral_labels = np.array([r.is_viral for r in usable], dtype=np.float64)
    breakout_labels = np.array([np.nan if r.is_viral_rel is None else r.is_viral_rel for r in usable])
    viral = _logistic(train_velocity[:, None], viral_labels, val_velocity[:, None], seed)
    breakout = _logistic(train_growth[:, None], breakout_labels, val_growth[:, None], seed)
    return {
        **_assemble({"post_publish": _entry(val["post_publish"], viral, breakout, val_velocity)}),
        "coefficients": dict(
            zip(("intercept", "log_views", "log_age"), (round(float(c), 6) for c in coefficients), strict=True)
        ),
    }


def boosted_trees(
    train: dict[str, RegimeArrays], val: dict[str, RegimeArrays], spec: FeatureSpec, seed: int
) -> Reference:
    """Per regime and target: HistGradientBoosting on the caller-known scalars + channel prior + category."""
    columns = [
        i for i, name in enumerate(spec.numeric_names) if name in CALLER_KNOWN_FEATURES or name.startswith("category_")
    ]
    per_regime: dict[str, tuple[Any, Any]] = {}
    iterations: dict[str, dict[str, int | None]] = {}
    for regime in REGIMES:
        t, v = train[regime], val[regime]
        x_train, x_val = t.numeric[:, columns], v.numeric[:, columns]
        viral = fit_boosted_trees(x_train, t.is_viral, x_val, v.is_viral, seed)
        breakout = fit_boosted_trees(x_train, t.breakout, x_val, v.breakout, seed)
        per_regime[regime] = _entry(
            v,
            None if viral is None else sigmoid(viral.val_scores),
            None if breakout is None else sigmoid(breakout.val_scores),
        )
        iterations[regime] = {
            "viral": None if viral is None else viral.n_iter,
            "breakout": None if breakout is None else breakout.n_iter,
        }
    return {**_assemble(per_regime), "n_iter_chosen_on_val": iterations}


def logistic_tfidf(
    train_rows: Sequence[LabelledObservation],
    val_rows: Sequence[LabelledObservation],
    train: dict[str, RegimeArrays],
    val: dict[str, RegimeArrays],
    seed: int,
) -> dict[str, Reference]:
    """``logistic_scalars_tfidf`` and ``logistic_tfidf_only``, each per regime and target."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=20000, sublinear_tf=True)
    text_train = vectorizer.fit_transform(_title_and_tags(train_rows))
    text_val = vectorizer.transform(_title_and_tags(val_rows))
    with_scalars: dict[str, tuple[Any, Any]] = {}
    text_only: dict[str, tuple[Any, Any]] = {}
    for regime in REGIMES:
        t, v = train[regime], val[regime]
        x_train = hstack([csr_matrix(t.numeric), text_train]).tocsr()
        x_val = hstack([csr_matrix(v.numeric), text_val]).tocsr()
        with_scalars[regime] = _entry(
            v, _logistic(x_train, t.is_viral, x_val, seed), _logistic(x_train, t.breakout, x_val, seed)
        )
    # Text alone is the same in both regimes (no counts reach it).
    t, v = train["pre_publish"], val["pre_publish"]
    viral = _logistic(text_train, t.is_viral, text_val, seed)
    breakout = _logistic(text_train, t.breakout, text_val, seed)
    for regime in REGIMES:
        text_only[regime] = _entry(val[regime], viral, breakout)
    return {"logistic_scalars_tfidf": _assemble(with_scalars), "logistic_tfidf_only": _assemble(text_only)}


def all_references(
    train_rows: Sequence[LabelledObservation],
    val_rows: Sequence[LabelledObservation],
    train: dict[str, RegimeArrays],
    val: dict[str, RegimeArrays],
    spec: FeatureSpec,
    seed: int,
) -> dict[str, Any]:
    """Every reference, plus which logistic regression is best pre-publish on val."""
    references: dict[str, Any] = {
        "views_only": views_only(train, val, spec, seed),
        "szabo_huberman": szabo_huberman(train_rows, val_rows, val, seed),
        "boosted_trees": boosted_trees(train, val, spec, seed),
        **logistic_tfidf(train_rows, val_rows, train, val, seed),
    }
    logistic = ("logistic_scalars_tfidf", "logistic_tfidf_only")
    references["best_pre_publish_logistic"] = max(
        logistic, key=lambda name: (references[name]["pre_publish"] or {}).get("auroc") or 0.0
    )
    return references
