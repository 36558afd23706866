"""Scoring API requests: one model call per batch, the results with their coverage, the ranked title variants.

The orchestration between the prediction API's schemas (:mod:`miles_core.api.schemas.predict`) and
the :class:`~miles_core.inference.predictor.Predictor`, kept out of the schema module so the schemas
only describe the bodies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from miles_core.api.schemas.predict import PredictionResult, PredictRequest, VariantResult
from miles_core.coverage.meaning import meanings

if TYPE_CHECKING:
    from miles_core.inference.predictor import Prediction, Predictor


def result_of(prediction: Prediction) -> PredictionResult:
    """The API's answer for one model prediction: the same fields, and its coverage reasons as sentences."""
    return PredictionResult(
        **dataclasses.asdict(prediction),
        warnings=[reason.message for reason in prediction.coverage_reasons],
        meaning=meanings(prediction),
    )


def score_requests(predictor: Predictor, requests: Sequence[PredictRequest], now: datetime) -> list[PredictionResult]:
    """Score every request in one model call (``now`` = their ``observed_at`` default); answers keep the order.

    When any item asks to ``explain``, the call explains the batch and only those items keep their
    ``contributions`` (the others answer exactly as without it). Variant titles are scored in one more
    call, never explained (a row scores the same alone or in any batch, so the two calls compare fairly).
    """
    observations = [request.to_observation(now) for request in requests]
    predictions = predictor.predict(observations, explain=any(request.explain for request in requests))
    wordings = [(index, title) for index, request in enumerate(requests) for title in request.variants]
    variant_predictions = (
        predictor.predict([observations[i].model_copy(update={"title": title}) for i, title in wordings])
        if wordings
        else []
    )
    per_item: list[list[tuple[str, Prediction]]] = [[] for _ in requests]
    for (index, title), prediction in zip(wordings, variant_predictions, strict=True):
        per_item[index].append((title, prediction))
    return [
        result_of(prediction if request.explain else dataclasses.replace(prediction, contributions=None)).model_copy(
            update=_ranked_variants(request.title, prediction, variants) if variants else {}
        )
        for request, prediction, variants in zip(requests, predictions, per_item, strict=True)
    ]


def _ranked_variants(title: str, prediction: Prediction, variants: list[tuple[str, Prediction]]) -> dict[str, Any]:
    """``variants`` and ``best_title`` of one item: every wording ranked by viral probability (``title`` wins ties)."""
    wordings = [(title, prediction), *variants]
    order = sorted(range(len(wordings)), key=lambda i: (-wordings[i][1].viral_probability, i))
    rank = {index: place for place, index in enumerate(order, start=1)}
    return {
        "variants": [
            VariantResult(
                title=variant,
                rank=rank[i],
                **{
                    name: value
                    for name, value in dataclasses.asdict(scores).items()
                    if name in VariantResult.model_fields and name not in ("title", "rank")
                },
            )
            for i, (variant, scores) in enumerate(wordings)
            if i > 0
        ],
        "best_title": wordings[order[0]][0],
    }
