"""Recommend function: ``POST /recommendations`` -> ranked, model-scored video ideas for a topic.

Thin on purpose: the flow lives in ``miles_core.recommend``. The model is loaded at import (Lambda's
init phase); the store, cache and LLM client are built on first use and reused by the container.
No torch: scoring goes through the ONNX ``Predictor``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from miles_core import config
from miles_core.api import API_KEY_SECURITY, JSON_BODY_ERRORS, KEYED, build_resolver, responses
from miles_core.api.schemas.recommend import RecommendationRequest, RecommendationResponse
from miles_core.api.store_unavailable import register_store_unavailable
from miles_core.inference import load_predictor
from miles_core.observability import build_observability
from miles_core.recommend.ideas import MAX_COUNT, MIN_COUNT, Vibe
from miles_core.recommend.llm import generator_from_config
from miles_core.recommend.service import RecommendationService, request_deadline
from miles_core.recommend.store_adapter import StoreCandidateSource, StoreResultCache, StoreScrapeRequester
from miles_core.scraping.queue import SqsJobQueue
from miles_core.store import MilesStore

MAX_BODY_BYTES = 4 * 1024
"""A request is three small fields; anything bigger is not a recommendation request (413)."""
DEFAULT_CACHE_TTL_SECONDS = 3600

logger, metrics, tracer = build_observability("recommend")
predictor = load_predictor()
app = build_resolver(
    title="Miles recommendations API",
    description=(
        "Scored short-form video ideas from what is trending in a topic. "
        f"vibe: one of {', '.join(v.value for v in Vibe)}; count: {MIN_COUNT}-{MAX_COUNT}."
    ),
    max_body_bytes=MAX_BODY_BYTES,
    logger=logger,
    metrics=metrics,
)
register_store_unavailable(app, logger)
_RESPONSES = responses(
    RecommendationResponse,
    errors=(*JSON_BODY_ERRORS, *KEYED, 503),
    description="Ranked, scored ideas, the patterns they came from and how they were produced.",
    http_422="Invalid field (blank topic or one with control characters, unknown vibe, count not an integer in "
    "range, unknown field); `errors` names it.",
    http_503="The store or the model is unavailable: retry later.",
)
_state: dict[str, RecommendationService] = {}


def build_service() -> RecommendationService:
    """The service bound to the Miles table (``MILES_TABLE_NAME``) and this container's predictor."""
    store = MilesStore.from_env()
    return RecommendationService(
        candidates=StoreCandidateSource(store),
        cache=StoreResultCache(store),
        scrapes=StoreScrapeRequester(store, enqueue=SqsJobQueue()),
        scorer=predictor,
        generator_factory=generator_from_config,
        cache_ttl_seconds=config.env_int("MILES_RECOMMEND_CACHE_TTL_SECONDS", DEFAULT_CACHE_TTL_SECONDS),
    )


def service() -> RecommendationService:
    if "service" not in _state:
        _state["service"] = build_service()
    return _state["service"]


@app.post(
    "/recommendations",
    summary="Scored video ideas for a topic",
    description=(
        "Ideas from the topic's top-scored recent videos (LLM, or a deterministic fallback when no LLM key is "
        "configured or the LLM fails; `meta.generator` and `meta.generator_reason` say which and why), each scored "
        "by the model in pre-publish mode at its best posting time of the coming week (all 168 weekday-hours "
        "compared), titled by the best of its 2-3 ranked wordings, with a one-sentence reason from the model's "
        "explanation, and ranked by viral probability. Cached per (topic, vibe, count). "
        "A topic without fresh candidates gets a scrape job (`meta.scrape_job_id`) and ideas from what exists."
    ),
    security=API_KEY_SECURITY,
    responses=_RESPONSES,
    tags=["recommend"],
)
def recommendations(request: RecommendationRequest) -> RecommendationResponse:
    response = service().recommend(request, deadline=app.context.get("deadline"))
    meta = response.meta
    metrics.add_metric(
        name="RecommendCacheHit" if meta.cached else "RecommendCacheMiss", unit=MetricUnit.Count, value=1
    )
    if not meta.cached:
        metrics.add_metric(name=f"Generator_{meta.generator.value}", unit=MetricUnit.Count, value=1)
        if meta.scrape_job_id:
            metrics.add_metric(name="ScrapeRequested", unit=MetricUnit.Count, value=1)
    logger.info(
        "recommendations",
        extra={
            "generator": meta.generator.value,
            "generator_reason": meta.generator_reason,
            "cached": meta.cached,
            "candidates_analyzed": meta.candidates_analyzed,
        },
    )
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (``app.handler`` in the image); the answer's deadline starts counting here."""
    app.append_context(  # type: ignore[no-untyped-call]  # Powertools leaves append_context untyped
        deadline=request_deadline(context.get_remaining_time_in_millis() / 1000)
    )
    return app.resolve(event, context)
