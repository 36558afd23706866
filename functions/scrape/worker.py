"""Scrape worker: runs jobs from the SQS queue and the EventBridge schedule.

* SQS (on-demand jobs): Powertools batch processing with partial-failure reporting; a job whose
  failure a retry could fix (throttled writes, network errors) is recorded and then reported as a
  failed record, so SQS redelivers it (and, after ``maxReceiveCount``, moves it to the DLQ).
  Re-running a job is idempotent.
* EventBridge schedule: one job per niche in ``MILES_NICHES``; every niche runs even if one fails,
  each is visible through ``GET /scrape/jobs/{id}``, and the invocation fails at the end when a
  retry could help, so Lambda's asynchronous retry runs the same (deterministic) jobs again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from miles_core.api import build_observability
from miles_core.scraping import runtime
from miles_core.scraping.jobs import ensure_recorded
from miles_core.scraping.queue import parse_job_message
from miles_core.scraping.service import JobRetryableError, retryable_jobs, run_job, run_scheduled, schedule_summary
from miles_core.store import iso

logger, metrics, tracer = build_observability("scrape-worker")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
"""A batch whose every record failed is answered with all of them in ``batchItemFailures`` (same effect)."""


def _record_handler(record: SQSRecord) -> dict[str, Any]:
    store = runtime.store()
    job_id = ensure_recorded(store, parse_job_message(record.body))
    outcome = run_job(store, runtime.sources(), job_id)
    metrics.add_metric(name="VideosScraped", unit=MetricUnit.Count, value=outcome.counts.new + outcome.counts.updated)
    metrics.add_metric(name="VideosFailed", unit=MetricUnit.Count, value=outcome.counts.failed)
    if outcome.retryable:
        raise JobRetryableError(f"job {job_id} {outcome.status.value}, will be retried: {outcome.errors[:3]}")
    return {"job_id": job_id, "status": outcome.status.value}


def _is_schedule(event: dict[str, Any]) -> bool:
    return event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event"


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (``worker.handler`` in the scrape image)."""
    if _is_schedule(event):
        scheduled_at = str(event.get("time") or iso(datetime.now(UTC)))
        outcomes = run_scheduled(runtime.store(), runtime.sources(), scheduled_at)
        summary = schedule_summary(outcomes)
        logger.info("scheduled scrape finished", extra=summary)
        retry = retryable_jobs(outcomes)
        if retry:
            raise JobRetryableError(f"scheduled jobs need a retry: {retry}")
        return summary
    return dict(
        process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
    )
