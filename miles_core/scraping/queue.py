"""The scrape job queue's message contract: every producer of scrape jobs sends through here.

Kept apart from the job runner so producers (the scrape API, the recommend function) import no
scraping configuration they do not use.
"""

from __future__ import annotations

import json
from typing import Any

from miles_core.store import ScrapeJob


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
        }
    )


def enqueue_job(sqs: Any, queue_url: str, job: ScrapeJob) -> None:
    """Hand a recorded job to the scrape worker (the SQS job queue). Every producer calls this."""
    sqs.send_message(QueueUrl=queue_url, MessageBody=job_message(job))
