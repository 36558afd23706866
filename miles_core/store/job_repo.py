"""Scrape job records and the dedupe slots of identical requests.

Callers pass job ids and requests; the keys (job item, slot item) are built here, never by the caller.
A job running past its lease reads as failed, and a dead-lettered job can be failed unless it finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from miles_core.store import keys
from miles_core.store.dynamo import (
    Clock,
    DynamoTable,
    UpdateParts,
    deserialize_item,
    serialize_item,
    serialize_value,
    set_attributes,
)
from miles_core.store.items import opt_int, opt_time, stored_topic
from miles_core.store.job_records import (
    MAX_JOB_ERRORS,
    FailureCause,
    JobCounts,
    JobStatus,
    ScrapeJob,
    ScrapeJobRequest,
)
from miles_core.store.records import Cohort, iso, parse_iso
from miles_core.store.schema import PARTITION_KEY, TTL_ATTRIBUTE

JOB_TTL_DAYS = 90
"""A job record is kept this long for ``GET /scrape/jobs/{id}``, then DynamoDB's TTL deletes it."""


class JobRepository:
    """Job items and job slots."""

    def __init__(self, table: DynamoTable, clock: Clock) -> None:
        self.table = table
        self._clock = clock

    def create_job(self, job: ScrapeJob, lease: timedelta | None = None) -> bool:
        """Record a job: True when this call recorded it, False when a job with its id already exists.

        With ``lease``, a ``queued`` job reads failed unless it is marked enqueued (or started) within
        ``lease`` from now: its producer has that long to hand it to the queue.
        """
        if lease is not None:
            job = replace(job, lease_expires_at=self._clock() + lease)
        return self.table.put_if_absent(job_item(job), f"recording job {job.job_id}")

    def get_job(self, job_id: str) -> ScrapeJob | None:
        """The job; one still ``running`` past its lease reads as ``failed`` ("timed out")."""
        item = self.table.get(keys.job_key(job_id))
        return job_from_item(item, now=self._clock()) if item else None

    def start_job(self, job_id: str, lease: timedelta) -> ScrapeJob:
        """Mark the job running until ``now + lease`` and count the attempt (a redelivery is attempt 2, 3, ...).

        The lease is the worker's remaining time: if the worker dies or is cut at its timeout, the job
        reads as failed once the lease has passed instead of ``running`` until its TTL.
        """
        now = self._clock()
        response = self.table.update(
            keys.job_key(job_id),
            UpdateParts(
                "SET #status = :running, #updated = :now, #lease = :lease ADD #attempts :one",
                {
                    "#pk": PARTITION_KEY,
                    "#status": "status",
                    "#updated": "updated_at",
                    "#attempts": "attempts",
                    "#lease": "lease_expires_at",
                },
                {
                    ":running": {"S": JobStatus.RUNNING.value},
                    ":now": {"S": iso(now)},
                    ":lease": {"S": iso(now + lease)},
                    ":one": {"N": "1"},
                },
            ),
            ConditionExpression="attribute_exists(#pk)",
            ReturnValues="ALL_NEW",
        )
        return job_from_item(deserialize_item(response["Attributes"]))

    def _update_job_if(
        self, job_id: str, what: str, update: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> bool:
        """One conditional update of the job's item (``#pk`` is predefined): False when ``condition`` refused it."""
        written = self.table.conditional(
            f"{what} job {job_id}",
            "update_item",
            TableName=self.table.name,
            Key=serialize_item(keys.job_key(job_id)),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#pk": PARTITION_KEY, **names},
            ExpressionAttributeValues=values,
        )
        return written is not None

    def mark_job_enqueued(self, job_id: str, lease: timedelta) -> bool:
        """Record that the queue took the job's message: it stays ``queued`` until ``now + lease`` (the queue's
        retention), then reads failed. False when a worker had already started it (its own lease stands)."""
        now = self._clock()
        return self._update_job_if(
            job_id,
            "marking enqueued",
            "SET #enqueued = :now, #lease = :lease",
            "attribute_exists(#pk) AND #status = :queued",
            {"#status": "status", "#enqueued": "enqueued_at", "#lease": "lease_expires_at"},
            {":queued": {"S": JobStatus.QUEUED.value}, ":now": {"S": iso(now)}, ":lease": {"S": iso(now + lease)}},
        )

    def requeue_unsent_job(self, job_id: str, seen_updated_at: datetime, lease: timedelta) -> bool:
        """Claim a job that was recorded but never handed to the queue, so this caller sends it again.

        It reads ``queued`` until ``now + lease`` once more. The condition (never enqueued, never started,
        unchanged since the caller read it at ``seen_updated_at``) lets exactly one of several concurrent
        retries win; False for the others.
        """
        now = self._clock()
        return self._update_job_if(
            job_id,
            "re-queueing",
            "SET #status = :queued, #updated = :now, #lease = :lease",
            "attribute_exists(#pk) AND attribute_not_exists(#enqueued) AND #attempts = :zero AND #updated = :seen",
            {
                "#status": "status",
                "#updated": "updated_at",
                "#lease": "lease_expires_at",
                "#enqueued": "enqueued_at",
                "#attempts": "attempts",
            },
            {
                ":queued": {"S": JobStatus.QUEUED.value},
                ":now": {"S": iso(now)},
                ":lease": {"S": iso(now + lease)},
                ":zero": {"N": "0"},
                ":seen": {"S": iso(seen_updated_at)},
            },
        )

    def fail_unfinished_job(self, job_id: str, reason: str) -> bool:
        """Mark a ``queued`` or ``running`` job failed with ``reason``; False when it had finished (or is unknown).

        For jobs whose message reached the dead-letter queue: a job that finished keeps its outcome. Its
        cause is :attr:`FailureCause.NOT_RUN`: no worker ran it to the end.
        """
        return self._update_job_if(
            job_id,
            "failing",
            "SET #status = :failed, #updated = :now, #errors = list_append(if_not_exists(#errors, :empty), :reason), "
            "#causes = list_append(if_not_exists(#causes, :empty), :cause)",
            "attribute_exists(#pk) AND #status IN (:queued, :running)",
            {"#status": "status", "#updated": "updated_at", "#errors": "errors", "#causes": "failure_causes"},
            {
                ":failed": {"S": JobStatus.FAILED.value},
                ":queued": {"S": JobStatus.QUEUED.value},
                ":running": {"S": JobStatus.RUNNING.value},
                ":now": {"S": iso(self._clock())},
                ":reason": serialize_value([reason[:500]]),
                ":cause": serialize_value([FailureCause.NOT_RUN.value]),
                ":empty": {"L": []},
            },
        )

    def claim_job_slot(
        self, request: ScrapeJobRequest, job_id: str, window: timedelta, *, replacing: str | None = None
    ) -> str:
        """The job id holding ``request``'s slot for ``window``: ``job_id`` if this call claimed it, else the holder's.

        Identical requests (same topic and limits) share one slot. A conditional put (free, expired, or
        held by ``replacing``) makes two identical requests racing each other agree on one job.
        """
        slot = keys.job_slot_key(request.topic, request.max_results, request.max_duration_seconds)
        now = self._clock()
        item = {**slot, "kind": "job_slot", "job_id": job_id, TTL_ATTRIBUTE: int((now + window).timestamp())}
        condition = "attribute_not_exists(#pk) OR #exp <= :now"
        values: dict[str, Any] = {":now": {"N": str(int(now.timestamp()))}}
        if replacing is not None:
            condition += " OR #job = :replacing"
            values[":replacing"] = {"S": replacing}
        written = self.table.conditional(
            f"claiming the job slot of {job_id}",
            "put_item",
            TableName=self.table.name,
            Item=serialize_item(item),
            ConditionExpression=condition,
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#exp": TTL_ATTRIBUTE, "#job": "job_id"}
            if replacing is not None
            else {"#pk": PARTITION_KEY, "#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues=values,
        )
        if written is not None:
            return job_id
        holder = self.table.get(slot)
        return str(holder["job_id"]) if holder else job_id

    def finish_job(
        self,
        job_id: str,
        status: JobStatus,
        counts: JobCounts,
        errors: list[str],
        source: str | None,
        causes: Sequence[FailureCause] = (),
    ) -> None:
        """Store the outcome of one attempt (counts, errors and failure causes of that attempt)."""
        outcome = {
            "status": status.value,
            "updated_at": iso(self._clock()),
            "counts": counts.as_dict(),
            "errors": [e[:500] for e in errors[:MAX_JOB_ERRORS]],
            "failure_causes": [cause.value for cause in dict.fromkeys(causes)],
            "source": source or "",
        }
        self.table.update(keys.job_key(job_id), set_attributes(outcome, remove_none=False))


def job_item(job: ScrapeJob) -> dict[str, Any]:
    return {
        **keys.job_key(job.job_id),
        "kind": "scrape_job",
        "job_id": job.job_id,
        "topic": job.request.topic,
        "max_results": job.request.max_results,
        "max_duration_seconds": job.request.max_duration_seconds,
        "cohort": job.request.cohort.value,
        "status": job.status.value,
        "trigger": job.trigger,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "counts": job.counts.as_dict(),
        "errors": list(job.errors),
        "failure_causes": [cause.value for cause in job.causes],
        "attempts": job.attempts,
        "run_id": job.run_id,
        "lease_expires_at": iso(job.lease_expires_at) if job.lease_expires_at else None,
        "enqueued_at": iso(job.enqueued_at) if job.enqueued_at else None,
        TTL_ATTRIBUTE: int((job.created_at + timedelta(days=JOB_TTL_DAYS)).timestamp()),
    }


def job_from_item(item: Mapping[str, Any], now: datetime | None = None) -> ScrapeJob:
    """The job of an item; with ``now``, a ``queued`` or ``running`` job past its lease reads as failed.

    The lease is what makes every job end: a worker that died (running), a producer that recorded the
    job but never sent it, or a message the queue dropped unprocessed (queued) would otherwise leave the
    record unfinished until its TTL. The reason says which.
    """
    counts = item.get("counts") or {}
    job = ScrapeJob(
        job_id=str(item["job_id"]),
        request=ScrapeJobRequest(
            topic=stored_topic(item["topic"]),
            max_results=int(item["max_results"]),
            max_duration_seconds=opt_int(item.get("max_duration_seconds")),
            cohort=Cohort(str(item.get("cohort") or Cohort.TOP.value)),
        ),
        status=JobStatus(str(item["status"])),
        created_at=parse_iso(str(item["created_at"])),
        updated_at=parse_iso(str(item["updated_at"])),
        trigger=str(item.get("trigger") or "api"),
        counts=JobCounts(**{k: int(counts.get(k, 0)) for k in ("found", "new", "updated", "failed")}),
        errors=tuple(item.get("errors") or ()),
        source=item.get("source"),
        attempts=int(item.get("attempts") or 0),
        run_id=item.get("run_id"),
        lease_expires_at=opt_time(item.get("lease_expires_at")),
        enqueued_at=opt_time(item.get("enqueued_at")),
        causes=_causes(item.get("failure_causes")),
    )
    lease = job.lease_expires_at
    if now is None or lease is None or lease >= now:
        return job
    if job.status is JobStatus.RUNNING:
        reason = f"timed out: the worker did not finish before its lease ended at {iso(lease)}"
        cause = FailureCause.OUT_OF_TIME
    elif job.status is JobStatus.QUEUED and job.enqueued_at is None:
        reason = f"never enqueued: the job was not handed to the queue by {iso(lease)}"
        cause = FailureCause.NOT_RUN
    elif job.status is JobStatus.QUEUED:
        reason = f"not started: no worker took its message before the queue's retention ended at {iso(lease)}"
        cause = FailureCause.NOT_RUN
    else:
        return job
    return replace(job, status=JobStatus.FAILED, errors=(*job.errors, reason), causes=(*job.causes, cause))


def _causes(stored: Any) -> tuple[FailureCause, ...]:
    """The recorded causes; a value this version does not know is skipped (a newer writer's), never fatal."""
    known = {cause.value for cause in FailureCause}
    return tuple(FailureCause(value) for value in stored or () if value in known)
