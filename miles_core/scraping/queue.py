"""The scrape job queue's message contract, both ends: what producers send and what the worker reads.

The writer (:func:`job_message`) and the reader (:func:`parse_job_message`) sit side by side so a
field added on one side is read on the other. Kept apart from the job runner so producers (the
scrape API, the recommend function) import no scraping configuration they do not use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miles_core.config import (
    DEFAULT_SCRAPE_MAX_DURATION_SECONDS,
    DEFAULT_SCRAPE_MAX_RESULTS,
    env_required,
)
from miles_core.store import Cohort, ScrapeJob, ScrapeJobRequest
from miles_core.topics import normalize_topic

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

Enqueue = Callable[[ScrapeJob], None]
"""Hands a recorded job to the scrape worker; raises when it could not (the job is then marked failed)."""


def job_message(job: ScrapeJob) -> str:
    """The SQS message body the scrape worker consumes: the job id plus its request.

    The request travels too, so a message whose job record was lost can still run and be reported.
    """
    return json.dumps(
        {
            "job_id": job.job_id,
            "topic": job.request.topic,
            "max_results": job.request.max_results,
            "max_duration_seconds": job.request.max_duration_seconds,
            "cohort": job.request.cohort.value,
        }
    )


@dataclass(frozen=True)
class JobMessage:
    """A parsed job message: the job to run, and its request when the message carries one."""

    job_id: str
    request: ScrapeJobRequest | None
    """``None`` for a message with only a job id (it can run only if the job record exists)."""


def parse_job_message(body: str) -> JobMessage:
    """Read a message of :func:`job_message` (or one sent by hand); ``ValueError`` names what is wrong.

    Fields a hand-written message leaves out take the scrape defaults. This is where a queued topic
    enters Miles, so it is made a :data:`~miles_core.topics.Topic` here (``ValueError`` when refused).
    """
    try:
        message = json.loads(body)
    except json.JSONDecodeError as error:
        raise ValueError("scrape job message is not JSON") from error
    if not isinstance(message, dict) or not isinstance(message.get("job_id"), str):
        raise ValueError("scrape job message needs a job_id")
    if message.get("topic") is None:
        return JobMessage(job_id=message["job_id"], request=None)
    max_duration = message.get("max_duration_seconds", DEFAULT_SCRAPE_MAX_DURATION_SECONDS)
    request = ScrapeJobRequest(
        topic=normalize_topic(str(message["topic"])),
        max_results=int(message.get("max_results", DEFAULT_SCRAPE_MAX_RESULTS)),
        max_duration_seconds=None if max_duration is None else int(max_duration),
        cohort=Cohort(str(message.get("cohort", Cohort.TOP.value))),
    )
    return JobMessage(job_id=message["job_id"], request=request)


class SqsJobQueue:
    """The job queue at ``MILES_SCRAPE_QUEUE_URL`` as an :data:`Enqueue`; one per container.

    The URL is read and the client made at the first send, so a missing setting fails that send
    (and marks that job failed) instead of the whole function's start.
    """

    def __init__(self, queue_url: str | None = None, sqs: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._sqs = sqs

    def __call__(self, job: ScrapeJob) -> None:
        queue_url = self._queue_url or env_required("MILES_SCRAPE_QUEUE_URL")
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs")
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=job_message(job))
