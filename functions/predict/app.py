"""Predict function: ``POST /predict``, ``POST /predict/batch``, ``GET /model``, ``GET /model/accuracy``,
``GET /health``, docs, and the creator page (``GET /``, ``GET /static/{name}``: plain files from
``static/`` next to this file).

Thin on purpose: schemas live in ``miles_core.api.schemas.predict``, scoring in ``miles_core.inference``.
The model is loaded here at import, i.e. once per container during Lambda's init phase.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from miles_core.accuracy.live_report import (
    DEFAULT_WINDOW_DAYS,
    MAX_WINDOW_DAYS,
    AccuracyReport,
    accuracy_report,
    learned_until,
)
from miles_core.api import (
    API_KEY_SECURITY,
    JSON_BODY_ERRORS,
    KEYED,
    PUBLIC,
    ApiError,
    build_resolver,
    responses,
)
from miles_core.api.docs import DOCUMENT_PATH
from miles_core.api.schemas.predict import (
    MAX_BATCH_ITEMS,
    BatchPredictRequest,
    BatchPredictResponse,
    HealthResponse,
    PredictionResult,
    PredictRequest,
    PredictResponse,
)
from miles_core.api.store_unavailable import register_store_unavailable
from miles_core.inference import ModelCard, load_predictor
from miles_core.inference.request_scoring import score_requests
from miles_core.observability import build_observability
from miles_core.store import shared

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
    metrics=metrics,
    openapi_document=DOCUMENT_PATH,
)
register_store_unavailable(app, logger)  # GET /model/accuracy reads the table
STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}
PAGE_HEADERS = {
    # The page runs only its own script and style and talks only to this API: scraped text it shows
    # cannot run, load or send anything even if it slipped past textContent.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
STATIC_FILES = {
    path.name: (CONTENT_TYPES[path.suffix], path.read_text(encoding="utf-8"))
    for path in sorted(STATIC_DIR.glob("*"))
    if path.suffix in CONTENT_TYPES
}
"""Read once per container: the page is three small files."""
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
    "/model/accuracy",
    summary="How right Miles has been: its own scores against what happened next",
    description="Every score the stream scorer wrote (and, for each newly seen video, the pre-publish score of its "
    "text, category and timing alone), paired with the video's next-day outcome, measured per model version, "
    "regime and cohort over the last `window_days` days (by when the outcome arrived). `n` is 0, `groups` empty "
    "and `note` says why while no score has met its outcome yet.",
    security=API_KEY_SECURITY,
    responses=responses(
        AccuracyReport,
        errors=(*KEYED, 422, 503),
        description="Per model version, regime and cohort.",
        http_503="The table is throttling requests: retry later.",
    ),
    tags=["model"],
)
def model_accuracy(
    window_days: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_WINDOW_DAYS,
            description=f"Days back from now, at most {MAX_WINDOW_DAYS}: a settled score holds YouTube's view counts "
            "and expires with them (`MILES_RETENTION_DAYS`).",
        ),
    ] = DEFAULT_WINDOW_DAYS,
) -> AccuracyReport:
    since = datetime.now(UTC) - timedelta(days=window_days)
    settled = shared.store().settled_scores_since(since)
    return accuracy_report(
        settled,
        window_days=window_days,
        since=since,
        current_model_version=predictor.version,
        learned_until=learned_until(predictor.population.last_charted),
    )


@app.get(
    "/health",
    summary="Liveness and model version (no API key)",
    responses=responses(HealthResponse, errors=PUBLIC, description="The function is up and its model loaded."),
    tags=["model"],
)
def health() -> HealthResponse:
    return HealthResponse(status="ok", model_version=predictor.version, cold_start=_state["cold_start"])


def _static(name: str) -> Response[str]:
    content_type, body = STATIC_FILES[name]
    return Response(200, content_type, body, headers=PAGE_HEADERS)


STATIC_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


@app.get(
    "/",
    summary="The creator page: ideas for a topic, scored; score your own title (HTML, no key needed to load)",
    responses=responses({"type": "string"}, errors=PUBLIC, media_type="text/html", description="The page."),
    tags=["page"],
)
def page() -> Response[str]:
    """The creator page (no API key: it asks for one and sends it with each API call)."""
    return _static("index.html")


@app.get(
    "/static/<name>",
    summary="The creator page's scripts (ES modules) and style sheet",
    responses={
        200: {
            "description": "The file.",
            "content": {
                "text/javascript": {"schema": {"type": "string"}},
                "text/css": {"schema": {"type": "string"}},
            },
        },
        **{
            code: entry
            for code, entry in responses({"type": "string"}, errors=(*PUBLIC, 404, 422)).items()
            if code != 200
        },
    },
    tags=["page"],
)
def static_file(
    name: Annotated[str, PathParam(pattern=STATIC_NAME_PATTERN, description="`app.js`, its modules or `app.css`.")],
) -> Response[str]:
    if name not in STATIC_FILES or name == "index.html":
        raise ApiError(HTTPStatus.NOT_FOUND, f"no static file {name!r}")
    return _static(name)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (``app.handler`` in the image)."""
    try:
        return app.resolve(event, context)
    finally:
        _state["cold_start"] = False
