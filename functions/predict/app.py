"""Predict function: ``POST /predict``, ``POST /predict/batch``, ``GET /model``, ``GET /health``, docs.

Thin on purpose: schemas live in ``miles_core.api.prediction``, scoring in ``miles_core.inference``.
The model is loaded here at import, i.e. once per container during Lambda's init phase.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from miles_core.api import (
    API_KEY_SECURITY,
    JSON_BODY_ERRORS,
    KEYED,
    PUBLIC,
    build_observability,
    build_resolver,
    responses,
)
from miles_core.api.docs import DOCUMENT_PATH
from miles_core.api.prediction import (
    MAX_BATCH_ITEMS,
    BatchPredictRequest,
    BatchPredictResponse,
    HealthResponse,
    PredictionResult,
    PredictRequest,
    PredictResponse,
    score_requests,
)
from miles_core.inference import ModelCard, load_predictor

MAX_BODY_BYTES = 512 * 1024
"""A full batch of 64 items with 5,000-character descriptions fits; anything larger is refused (413)."""

logger, metrics, tracer = build_observability("predict")
predictor = load_predictor()
app = build_resolver(
    title="Miles prediction API",
    description="Predicts how fast a short-form video will grow, from its title and optional early stats. "
    f"Batch limit: {MAX_BATCH_ITEMS} items. Body limit: {MAX_BODY_BYTES} bytes.",
    max_body_bytes=MAX_BODY_BYTES,
    logger=logger,
    openapi_document=DOCUMENT_PATH,
)
_state = {"cold_start": True}


@tracer.capture_method(capture_response=False)
def _score(requests: Sequence[PredictRequest]) -> list[PredictionResult]:
    tracer.put_annotation(key="batch_size", value=str(len(requests)))
    results = score_requests(predictor, requests, datetime.now(UTC))
    for result in results:
        metrics.add_metric(name=f"Regime_{result.regime.value}", unit=MetricUnit.Count, value=1)
    return results


def _elapsed_ms(started: float) -> float:
    elapsed = (time.perf_counter() - started) * 1000.0
    metrics.add_metric(name="PredictLatency", unit=MetricUnit.Milliseconds, value=elapsed)
    return round(elapsed, 3)


@app.post(
    "/predict",
    summary="Score one video or idea",
    description="Post-publish when `view_count` (and `published_at`) are given, else pre-publish.",
    security=API_KEY_SECURITY,
    responses=responses(PredictResponse, errors=(*JSON_BODY_ERRORS, *KEYED), description="The prediction."),
    tags=["predict"],
)
def predict(request: PredictRequest) -> PredictResponse:
    started = time.perf_counter()
    (result,) = _score([request])
    return PredictResponse(**result.model_dump(), processing_time_ms=_elapsed_ms(started))


@app.post(
    "/predict/batch",
    summary=f"Score up to {MAX_BATCH_ITEMS} videos or ideas in one call",
    security=API_KEY_SECURITY,
    responses=responses(
        BatchPredictResponse, errors=(*JSON_BODY_ERRORS, *KEYED), description="One prediction per item, in order."
    ),
    tags=["predict"],
)
def predict_batch(request: BatchPredictRequest) -> BatchPredictResponse:
    started = time.perf_counter()
    results = _score(request.items)
    metrics.add_metric(name="BatchSize", unit=MetricUnit.Count, value=len(results))
    return BatchPredictResponse(items=results, model_version=predictor.version, processing_time_ms=_elapsed_ms(started))


@app.get(
    "/model",
    summary="The model card",
    security=API_KEY_SECURITY,
    responses=responses(ModelCard, errors=KEYED, description="What the model is, how it was made, its metrics."),
    tags=["model"],
)
def model_card() -> ModelCard:
    return predictor.card


@app.get(
    "/health",
    summary="Liveness and model version (no API key)",
    responses=responses(HealthResponse, errors=PUBLIC, description="The function is up and its model loaded."),
    tags=["model"],
)
def health() -> HealthResponse:
    return HealthResponse(status="ok", model_version=predictor.version, cold_start=_state["cold_start"])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (``app.handler`` in the image)."""
    try:
        return app.resolve(event, context)
    finally:
        _state["cold_start"] = False
