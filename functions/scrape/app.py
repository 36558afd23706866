"""Scrape API: ``POST /scrape/jobs``, ``GET /scrape/jobs/{job_id}``, ``GET /candidates``.

Thin on purpose: the job record and leaderboard live in ``miles_core.store``, the scraping in
``miles_core.scraping``. ``POST /scrape/jobs`` only records the job and enqueues it (202 at once);
the worker function (SQS) runs it, so a slow YouTube never holds an API Gateway connection open.
Identical requests (same canonical topic and limits) within ``SCRAPE_DEDUPE_WINDOW_SECONDS`` get
the same job back (202, its id and current status), a recommendation's scrape of the topic included;
while the day's YouTube Data API quota is spent the answer is 429.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from miles_core.api import (
    API_KEY_SECURITY,
    JSON_BODY_ERRORS,
    KEYED,
    ApiError,
    FieldError,
    build_resolver,
    responses,
)
from miles_core.api.fields import TOPIC_PATTERN
from miles_core.api.schemas.scrape import (
    CandidatesPage,
    CandidateView,
    ScrapeJobAccepted,
    ScrapeJobBody,
    ScrapeJobView,
)
from miles_core.api.store_unavailable import register_store_unavailable
from miles_core.observability import build_observability
from miles_core.relevance import RELEVANCE_THRESHOLD
from miles_core.scraping import runtime
from miles_core.scraping.jobs import JobEnqueueError, new_job, submit_deduplicated
from miles_core.scraping.quota import DailyQuota
from miles_core.store import InvalidCursorError, ScrapeJobRequest, shared
from miles_core.topics import MAX_TOPIC_CHARS, normalize_topic

logger, metrics, tracer = build_observability("scrape")
app = build_resolver(
    title="Miles scrape API",
    description="On-demand scrape jobs and the scored candidate leaderboard per topic.",
    max_body_bytes=16 * 1024,
    logger=logger,
    metrics=metrics,
)
register_store_unavailable(app, logger)
JOB_ID_PATTERN = r"^[A-Za-z0-9-]{1,80}$"
"""What a job id can be (uuid hex, or the schedule's readable ids): anything else is a 422, never a lookup."""


@app.post(
    "/scrape/jobs",
    summary="Start a scrape job (answers 202 at once; poll the status URL)",
    security=API_KEY_SECURITY,
    responses=responses(
        ScrapeJobAccepted,
        status=202,
        description=(
            "Job accepted; `Location` and `status_url` say where to poll. An identical request (same topic and "
            "limits) within 10 minutes gets the same job back, with its current status."
        ),
        errors=(*JSON_BODY_ERRORS, *KEYED, 503),
        http_429="Too many requests, or the API key's or the YouTube quota is used up: retry later.",
        http_503="The job queue is unavailable (the job was recorded as failed), or the table is throttling.",
    ),
    tags=["scrape"],
)
def create_scrape_job(body: ScrapeJobBody) -> Response[str]:
    job = new_job(
        ScrapeJobRequest(body.topic, body.max_results, body.max_duration_seconds), uuid.uuid4().hex, trigger="api"
    )
    store = shared.store()
    if DailyQuota(store).exhausted():
        raise ApiError(
            HTTPStatus.TOO_MANY_REQUESTS,
            "today's YouTube Data API quota is spent; new scrape jobs are accepted again after 00:00 UTC",
        )
    try:
        job, created = submit_deduplicated(store, job, runtime.job_queue())
    except JobEnqueueError as error:
        raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "the scrape queue is unavailable; try again later") from error
    metrics.add_metric(
        name="ScrapeJobsRequested" if created else "ScrapeJobsDeduplicated", unit=MetricUnit.Count, value=1
    )
    status_url = f"/scrape/jobs/{job.job_id}"
    accepted = ScrapeJobAccepted(job_id=job.job_id, status=job.status, topic=job.request.topic, status_url=status_url)
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
    responses=responses(
        ScrapeJobView,
        errors=(*KEYED, 404, 422, 503),
        description="The job.",
        http_404="Unknown job.",
        http_503="The table is throttling requests: retry later.",
    ),
    tags=["scrape"],
)
def get_scrape_job(
    job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN, description="The `job_id` of `POST /scrape/jobs`.")],
) -> ScrapeJobView:
    job = shared.store().get_job(job_id)
    if job is None:
        raise ApiError(HTTPStatus.NOT_FOUND, f"no scrape job {job_id[:80]!r}")
    return ScrapeJobView.model_validate(job.as_public_dict())


@app.get(
    "/candidates",
    summary="Scored candidates about a topic (by meaning): newest model first, then highest viral probability",
    security=API_KEY_SECURITY,
    responses=responses(
        CandidatesPage,
        errors=(400, *KEYED, 422, 503),
        description=(
            "One page of the topic's leaderboard: only videos about the topic by meaning (`relevance` at or above "
            f"{RELEVANCE_THRESHOLD}, measured when the video is scored, so unscored videos are not listed yet; a "
            "video that merely shares a word with the topic is left out). At most 3 table pages are read, so a "
            "page may hold fewer than `limit` items: follow `next_cursor`."
        ),
        http_400="Malformed or foreign `cursor`.",
        http_503="The table is throttling requests: retry later.",
    ),
    tags=["scrape"],
)
def list_candidates(
    topic: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_TOPIC_CHARS,
            pattern=TOPIC_PATTERN,
            description="Topic; matched in canonical form (NFKC, case-folded, trimmed, single-spaced).",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    min_probability: Annotated[
        float | None, Query(ge=0.0, le=1.0, description="Lowest viral probability, compared at 6 decimal places.")
    ] = None,
    max_age_hours: Annotated[int | None, Query(ge=1, le=24 * 90, description="Only rows seen recently.")] = None,
    cursor: Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")] = None,
) -> CandidatesPage:
    try:
        canonical = normalize_topic(topic)
        page = shared.store().list_candidates(
            canonical,
            limit=limit,
            # DynamoDB numbers have 38 digits and no subnormals: 1e-300 would underflow; 6 places are plenty.
            min_probability=None if min_probability is None else round(min_probability, 6),
            cursor=cursor,
            seen_within=timedelta(hours=max_age_hours) if max_age_hours else None,
            min_relevance=RELEVANCE_THRESHOLD,
        )
    except InvalidCursorError as error:
        problem = FieldError(field="cursor", location="query", message=str(error), type="invalid_cursor")
        raise ApiError(HTTPStatus.BAD_REQUEST, str(error), [problem]) from error
    except ValueError as error:
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, str(error)) from error
    return CandidatesPage(
        topic=canonical,
        items=[CandidateView.model_validate(candidate.as_public_dict()) for candidate in page.items],
        next_cursor=page.next_cursor,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (``app.handler`` in the scrape image)."""
    return app.resolve(event, context)
