"""Scrape worker: runs the job queue's jobs, fans the EventBridge schedule out, fails dead-lettered jobs.

* SQS job queue: Powertools batch processing with partial-failure reporting; each job runs with the
  invocation's remaining time as its lease and stops cleanly before the timeout. A job whose failure
  a retry could fix (throttled writes, network errors) is recorded and then reported as a failed
  record, so SQS redelivers it (and, after ``maxReceiveCount``, moves it to the DLQ). Idempotent.
* SQS dead-letter queue (records whose source ARN is ``MILES_SCRAPE_DLQ_ARN``): the job is marked
  failed, so it never reads ``queued``/``running`` for ever; the DLQ's receive alarm still fires.
* EventBridge re-snapshot schedule (``{"task": "fixed-age-snapshots"}``, every 15 minutes): the
  fixed-age snapshots due now (:mod:`miles_core.scraping.fixed_age_snapshots`). Errors (a spent quota)
  are in its answer and logs; the entries stay due within their tolerance, so it never raises.
* EventBridge schedule: two jobs per niche in ``MILES_NICHES`` (the top of its search and its fresh
  short uploads), recorded and enqueued through
  ``submit_job`` (the API's path) and run by the queue consumer, one niche per invocation. The
  invocation fails at the end when a niche could not be enqueued, so it reaches the on-failure queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from miles_core.config import env_str
from miles_core.observability import build_observability
from miles_core.scraping import runtime
from miles_core.scraping.fixed_age_snapshots import run_fixed_age_snapshots
from miles_core.scraping.job_runner import JobRetryableError, run_job
from miles_core.scraping.jobs import ensure_recorded, fail_dead_lettered
from miles_core.scraping.queue import parse_job_message
from miles_core.scraping.schedule import enqueue_scheduled, retryable_jobs, schedule_summary
from miles_core.store import iso, shared

logger, metrics, tracer = build_observability("scrape-worker")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
"""A batch whose every record failed is answered with all of them in ``batchItemFailures`` (same effect)."""


def _record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> dict[str, Any]:
    store = shared.store()
    if record.event_source_arn and record.event_source_arn == env_str("MILES_SCRAPE_DLQ_ARN"):
        job_id = fail_dead_lettered(store, record.body)
        metrics.add_metric(name="ScrapeJobsDeadLettered", unit=MetricUnit.Count, value=1)
        return {"job_id": job_id, "status": "failed"}
    context = lambda_context  # Powertools passes it to a record handler that names it
    remaining = (lambda: context.get_remaining_time_in_millis() / 1000.0) if context is not None else None
    job_id = ensure_recorded(store, parse_job_message(record.body))
    outcome = run_job(store, runtime.sources(), job_id, remaining=remaining)
    metrics.add_metric(name="VideosScraped", unit=MetricUnit.Count, value=outcome.counts.new + outcome.counts.updated)
    metrics.add_metric(name="VideosFailed", unit=MetricUnit.Count, value=outcome.counts.failed)
    if outcome.retryable:
        raise JobRetryableError(f"job {job_id} {outcome.status.value}, will be retried: {outcome.errors[:3]}")
    return {"job_id": job_id, "status": outcome.status.value}


FIXED_AGE_TASK = "fixed-age-snapshots"
"""The ``task`` of the re-snapshot schedule's event (its ``Input`` in template.yaml)."""


def _is_schedule(event: dict[str, Any]) -> bool:
    return event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event"


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (``worker.handler`` in the scrape image)."""
    if event.get("task") == FIXED_AGE_TASK:
        outcome = run_fixed_age_snapshots(shared.store(), runtime.snapshot_reader(), datetime.now(UTC))
        metrics.add_metric(name="FixedAgeSnapshotsTaken", unit=MetricUnit.Count, value=outcome.taken)
        metrics.add_metric(name="FixedAgeSnapshotsMissed", unit=MetricUnit.Count, value=outcome.missed)
        logger.info("fixed-age snapshots", extra=outcome.as_dict())
        return outcome.as_dict()
    if _is_schedule(event):
        scheduled_at = str(event.get("time") or iso(datetime.now(UTC)))
        outcomes = enqueue_scheduled(shared.store(), scheduled_at, runtime.job_queue())
        summary = schedule_summary(outcomes)
        logger.info("scheduled scrape enqueued", extra=summary)
        retry = retryable_jobs(outcomes)
        if retry:
            raise JobRetryableError(f"scheduled jobs could not be enqueued: {retry}")
        return summary
    return dict(
        process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
    )
