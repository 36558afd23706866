"""Scrape API: ``POST /scrape/jobs``, ``GET /scrape/jobs/{job_id}``, ``GET /candidates``.

Thin on purpose: the job record and leaderboard live in ``miles_core.store``, the scraping in
``miles_core.scraping``. ``POST /scrape/jobs`` only records the job and enqueues it (202 at once);
the worker function (SQS) runs it, so a slow YouTube never holds an API Gateway connection open.
Identical requests (same normalised topic and limits) within ``SCRAPE_DEDUPE_WINDOW_SECONDS`` get
the same job back (202, its id and current status); while the day's YouTube Data API quota is spent
the answer is 429.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from miles_core.api import (
    API_KEY_SECURITY,
    ApiError,
    build_observability,
    build_resolver,
    error_response,
    error_responses,
)
from miles_core.config import (
    DEFAULT_SCRAPE_MAX_DURATION_SECONDS,
    DEFAULT_SCRAPE_MAX_RESULTS,
    SCRAPE_DEDUPE_WINDOW_SECONDS,
)
from miles_core.scraping import runtime
from miles_core.scraping.jobs import JobEnqueueError, new_job, submit_deduplicated
from miles_core.scraping.quota import DailyQuota
from miles_core.store import InvalidCursorError, ScrapeJobRequest, StoreThrottledError
from miles_core.topics import MAX_TOPIC_CHARS, normalize_topic

logger, metrics, tracer = build_observability("scrape")
app = build_resolver(
    title="Miles scrape API",
    description="On-demand scrape jobs and the scored candidate leaderboard per topic.",
    max_body_bytes=16 * 1024,
    logger=logger,
)
_JOB_ID = re.compile(r"^[A-Za-z0-9-]{1,80}$")
_ERRORS = error_responses(
    http_400="Malformed JSON or cursor.",
    http_404="Unknown job.",
    http_503="The job queue is unavailable; the job was recorded as failed.",
)


class ScrapeJobBody(BaseModel):
    """``POST /scrape/jobs`` body."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    topic: str = Field(min_length=1, max_length=MAX_TOPIC_CHARS, description="Search query / leaderboard topic.")
    max_results: int = Field(default=DEFAULT_SCRAPE_MAX_RESULTS, ge=1, le=50)
    max_duration_seconds: int | None = Field(
        default=DEFAULT_SCRAPE_MAX_DURATION_SECONDS,
        ge=1,
        le=3600,
        description="Shorts-friendly cap; null = any length.",
    )


class ScrapeJobAccepted(BaseModel):
    job_id: str
    status: str
    topic: str
    status_url: str


@app.post(
    "/scrape/jobs",
    summary="Start a scrape job (answers 202 at once; poll the status URL)",
    security=API_KEY_SECURITY,
    responses={202: {"description": "Job accepted.", "content": {"application/json": {"model": ScrapeJobAccepted}}}}
    | _ERRORS,
    tags=["scrape"],
)
def create_scrape_job(body: ScrapeJobBody) -> Response[str]:
    try:
        job = new_job(
            ScrapeJobRequest(body.topic, body.max_results, body.max_duration_seconds),
            uuid.uuid4().hex,
            trigger="api",
        )
    except ValueError as error:
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, f"invalid topic: {error}") from error
    store = runtime.store()
    if DailyQuota(store).exhausted():
        raise ApiError(
            HTTPStatus.TOO_MANY_REQUESTS,
            "today's YouTube Data API quota is spent; new scrape jobs are accepted again after 00:00 UTC",
        )
    window = timedelta(seconds=SCRAPE_DEDUPE_WINDOW_SECONDS)
    try:
        job, created = submit_deduplicated(store, job, runtime.job_queue(), window)
    except JobEnqueueError as error:
        raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "the scrape queue is unavailable; try again later") from error
    metrics.add_metric(
        name="ScrapeJobsRequested" if created else "ScrapeJobsDeduplicated", unit=MetricUnit.Count, value=1
    )
    status_url = f"/scrape/jobs/{job.job_id}"
    accepted = ScrapeJobAccepted(
        job_id=job.job_id, status=job.status.value, topic=job.request.topic, status_url=status_url
    )
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type="application/json",
        body=accepted.model_dump_json(),
        headers={"Location": status_url},
    )


@app.get(
    "/scrape/jobs/<job_id>",
    summary="A scrape job's status, counts (found, new, updated, failed) and errors",
    security=API_KEY_SECURITY,
    responses=_ERRORS,
    tags=["scrape"],
)
def get_scrape_job(job_id: Annotated[str, Path(max_length=80)]) -> dict[str, Any]:
    job = runtime.store().get_job(job_id) if _JOB_ID.match(job_id) else None
    if job is None:
        raise ApiError(HTTPStatus.NOT_FOUND, f"no scrape job {job_id[:80]!r}")
    return job.as_public_dict()


@app.get(
    "/candidates",
    summary="Scored candidates of a topic: newest model first, then highest viral probability; unscored last",
    security=API_KEY_SECURITY,
    responses=_ERRORS,
    tags=["scrape"],
)
def list_candidates(
    topic: Annotated[str, Query(min_length=1, max_length=MAX_TOPIC_CHARS)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    min_probability: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    max_age_hours: Annotated[int | None, Query(ge=1, le=24 * 90, description="Only rows seen recently.")] = None,
    cursor: Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    try:
        page = runtime.store().list_candidates(
            topic,
            limit=limit,
            min_probability=min_probability,
            cursor=cursor,
            seen_within=timedelta(hours=max_age_hours) if max_age_hours else None,
        )
    except InvalidCursorError as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, str(error)) from error
    except ValueError as error:
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, str(error)) from error
    return {
        "topic": normalize_topic(topic),
        "items": [candidate.as_public_dict() for candidate in page.items],
        "next_cursor": page.next_cursor,
    }


def _table_throttled(error: StoreThrottledError) -> Response[str]:
    """DynamoDB still throttling after botocore's retries: a visible 503 (retry later), not a 500."""
    logger.warning("table throttled: %s", error)
    return error_response(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "the table is throttling requests; try again later",
        (),
        app.current_event.request_context.request_id,
    )


app.exception_handler(StoreThrottledError)(_table_throttled)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (``app.handler`` in the scrape image)."""
    return app.resolve(event, context)
