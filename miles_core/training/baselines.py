"""Baselines measured in the same run as the model, on the same rows, so the card compares like with like.

* ``views_only``: logistic regression on log1p(views at t0) (post-publish only: an idea has no views).
* ``logistic_tfidf``: logistic regression on the pipeline's scalar features (same scaling, same
  out-of-fold channel prior) plus TF-IDF of title + tags, fitted per regime.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from miles_core.dataset import LabelledObservation
from miles_core.training.data import REGIMES, RegimeArrays
from miles_core.training.metrics import regime_metrics

MetricTable = dict[str, dict[str, float | None] | None]


def _title_and_tags(rows: Sequence[LabelledObservation]) -> list[str]:
    return [f"{r.observation.title} {' '.join(r.observation.tags)}" for r in rows]


def views_only(train_rows: Sequence[LabelledObservation], val_rows: Sequence[LabelledObservation]) -> MetricTable:
    """Post-publish: how far views at t0 alone go (absolute velocity tracks size)."""
    from sklearn.linear_model import LogisticRegression

    def log_views(rows: Sequence[LabelledObservation]) -> np.ndarray:
        return np.log1p(np.array([[r.observation.view_count or 0] for r in rows], dtype=np.float64))

    model = LogisticRegression(max_iter=1000).fit(log_views(train_rows), [r.is_viral for r in train_rows])
    probabilities = model.predict_proba(log_views(val_rows))[:, 1]
    labels = np.array([r.is_viral for r in val_rows])
    return {"post_publish": regime_metrics(labels, probabilities, np.zeros(len(labels)), None), "pre_publish": None}


def logistic_tfidf(
    train_rows: Sequence[LabelledObservation],
    val_rows: Sequence[LabelledObservation],
    train: dict[str, RegimeArrays],
    val: dict[str, RegimeArrays],
    seed: int,
) -> MetricTable:
    """Per regime: logistic regression on scalar features + TF-IDF (1-2 grams) of title and tags."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=20000, sublinear_tf=True)
    text_train = vectorizer.fit_transform(_title_and_tags(train_rows))
    text_val = vectorizer.transform(_title_and_tags(val_rows))
    table: MetricTable = {}
    for regime in REGIMES:
        x_train = hstack([csr_matrix(train[regime].numeric), text_train]).tocsr()
        x_val = hstack([csr_matrix(val[regime].numeric), text_val]).tocsr()
        model = LogisticRegression(C=1.0, max_iter=3000, random_state=seed).fit(x_train, train[regime].is_viral)
        probabilities = model.predict_proba(x_val)[:, 1]
        table[regime] = regime_metrics(val[regime].is_viral, probabilities, val[regime].log_velocity, None)
    return table
