"""Background workers of the local stack (owned by the scrape area).

``start_background_workers`` is called once by the local server after the embedded AWS endpoint
and the table exist. It starts what AWS would run on its own: the SQS job consumer for scrape jobs
and the DynamoDB stream poller that feeds the scorer. Returns a callable that stops them.

Both find their handlers by the template's handler strings (``worker.handler`` in
``functions/scrape``, ``scorer.handler`` in ``functions/predict``), feed them events shaped exactly
like Lambda's (SQS records with receipt handles, DynamoDB stream records with
``Keys``/``NewImage``/``SequenceNumber``), and honour their partial-failure answers the way the
event source mappings do: an SQS message in ``batchItemFailures`` is left on the queue (it comes
back after its visibility timeout); a failed stream record is retried from its sequence number on
the next poll.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from infra.localstack.events import LocalLambdaContext
from infra.localstack.handlers import SCORER, SCRAPE_WORKER, Handler, load_handler
from miles_core.store import deserialize_item, is_video_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_dynamodbstreams.type_defs import RecordTypeDef
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

QUEUE_NAME = "miles-scrape-jobs"
DEAD_LETTER_QUEUE_NAME = "miles-scrape-jobs-dlq"
QUEUE_VISIBILITY_S = 3600
"""As template.yaml's ScrapeJobQueue and ScrapeJobDLQ (a deploy test checks): a job that failed comes back an
hour later, as deployed. (A 30 s visibility let the first few failing jobs of a burst come back before the
worker reached the next ones: every later job stayed ``queued`` for good.)"""
MAX_RECEIVE_COUNT = 3
"""As the template's RedrivePolicy: after three failed deliveries a job's message goes to the dead-letter
queue, whose consumer marks the job failed."""
JOB_CONSUMERS = 2
"""As the template's ScalingConfig.MaximumConcurrency of the worker's job and dead-letter mappings."""
STATE_FILE = Path(".local") / "stack.json"
"""Where the running local stack says where it lives, so ``python -m infra.localstack attach`` finds it."""
POLL_SECONDS = 1.0
WORKER_TIMEOUT_MS = 900_000
"""What the event-source-driven functions see as their remaining time (Lambda's maximum)."""


def worker_context(function_name: str) -> LocalLambdaContext:
    """The context an event source mapping's invocation gets (no API Gateway 29 s limit)."""
    return LocalLambdaContext.for_request(function_name, timeout_ms=WORKER_TIMEOUT_MS)


@dataclass(frozen=True)
class LocalStackContext:
    """Where the embedded AWS lives and what was created there."""

    endpoint_url: str
    table_name: str
    region: str = "us-east-1"


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """``ReceiveMessage`` results -> the event Lambda's SQS event source mapping delivers."""
    records = []
    for message in messages:
        attributes = dict(message.get("Attributes") or {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                    "SenderId": attributes.get("SenderId", "AIDAIENQZJOLO23YVJ4VO"),
                    "ApproximateFirstReceiveTimestamp": attributes.get(
                        "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                    ),
                },
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def stream_event(records: Sequence[Mapping[str, Any]], stream_arn: str, region: str) -> dict[str, Any]:
    """``dynamodbstreams.GetRecords`` results -> the event Lambda's stream event source mapping delivers."""
    converted = []
    for record in records:
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = created.timestamp()
        converted.append(
            {
                "eventID": record.get("eventID", uuid.uuid4().hex),
                "eventName": record["eventName"],
                "eventVersion": record.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": record.get("awsRegion", region),
                "dynamodb": dynamodb,
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": converted}


def is_video_record(record: Mapping[str, Any]) -> bool:
    """The event source mapping's filter: only video items reach the scorer (the store knows their keys)."""
    return is_video_item(deserialize_item(record.get("dynamodb", {}).get("Keys", {})))


def failed_ids(response: Any) -> set[str]:
    if not isinstance(response, Mapping):
        return set()
    return {str(f.get("itemIdentifier")) for f in response.get("batchItemFailures", []) or []}


class QueueConsumer:
    """Receive scrape job messages and run the worker handler on them; delete only what succeeded."""

    def __init__(self, sqs: SQSClient, queue_url: str, handler: Handler, region: str, batch_size: int = 5) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.region = region
        self.batch_size = batch_size
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self.queue_arn = attributes["Attributes"]["QueueArn"]

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One receive + invoke; returns how many messages were handled successfully."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        event = sqs_event(received, self.queue_arn, self.region)
        try:
            failures = failed_ids(self.handler(event, worker_context("scrape-worker")))
        except Exception:  # every record failed: all stay on the queue, like Lambda
            logger.exception("scrape worker failed on a whole batch")
            return 0
        done = [m for m in received if m["MessageId"] not in failures]
        for message in done:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(done)


class StreamPoller:
    """Read the table's stream shard by shard and feed video records to the scorer.

    A batch with failures is re-read from the first failed sequence number next time (what the
    stream event source mapping does with ``ReportBatchItemFailures``).
    """

    def __init__(
        self, streams: DynamoDBStreamsClient, stream_arn: str, handler: Handler, region: str, batch_size: int = 50
    ) -> None:
        self.streams = streams
        self.stream_arn = stream_arn
        self.handler = handler
        self.region = region
        self.batch_size = batch_size
        self._iterators: dict[str, str | None] = {}

    def _refresh_shards(self) -> None:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def poll_once(self) -> int:
        """Deliver every available record once; returns how many records were read."""
        self._refresh_shards()
        total = 0
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            # The event source mapping filters before it batches (the template's FilterCriteria), so a batch
            # is up to batch_size *video* records however many other items (snapshots, due items) lie between.
            videos: list[RecordTypeDef] = []
            next_iterator: str | None = iterator
            while next_iterator is not None and len(videos) < self.batch_size:
                response = self.streams.get_records(ShardIterator=next_iterator, Limit=self.batch_size - len(videos))
                records = response.get("Records", [])
                next_iterator = response.get("NextShardIterator")
                total += len(records)
                videos.extend(r for r in records if is_video_record(r))
                if not records:
                    break
            failures: set[str] = set()
            if videos:
                try:
                    failures = failed_ids(self.handler(stream_event(videos, self.stream_arn, self.region), None))
                except Exception:
                    logger.exception("scorer failed on a whole batch; it will be retried")
                    failures = {videos[0]["dynamodb"]["SequenceNumber"]}
            if failures:
                first = min(failures, key=int)
                next_iterator = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard_id,
                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                    SequenceNumber=first,
                )["ShardIterator"]
            self._iterators[shard_id] = next_iterator
        return total


def _clients(context: LocalStackContext) -> tuple[SQSClient, DynamoDBClient, DynamoDBStreamsClient]:
    import boto3

    url, region = context.endpoint_url, context.region
    return (
        boto3.client("sqs", endpoint_url=url, region_name=region),
        boto3.client("dynamodb", endpoint_url=url, region_name=region),
        boto3.client("dynamodbstreams", endpoint_url=url, region_name=region),
    )


class JobQueues(NamedTuple):
    """The local job queue and its dead-letter queue (both consumed by the scrape worker)."""

    jobs_url: str
    dead_letters_url: str


def ensure_queue(sqs: SQSClient) -> JobQueues:
    """Create (or find) the local job queue and its dead-letter queue as the template declares them.

    Exports the job queue's URL (the scrape API handler sends there) and the dead-letter queue's ARN
    (the worker tells dead letters by it); returns both queues' URLs.
    """
    visibility = str(QUEUE_VISIBILITY_S)
    dead_letters = str(
        sqs.create_queue(QueueName=DEAD_LETTER_QUEUE_NAME, Attributes={"VisibilityTimeout": visibility})["QueueUrl"]
    )
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
    url = str(
        sqs.create_queue(QueueName=QUEUE_NAME, Attributes={"VisibilityTimeout": visibility, "RedrivePolicy": redrive})[
            "QueueUrl"
        ]
    )
    os.environ["MILES_SCRAPE_QUEUE_URL"] = url
    os.environ["MILES_SCRAPE_DLQ_ARN"] = dlq_arn
    return JobQueues(url, dead_letters)


def _loop(name: str, stop: threading.Event, step: Callable[[], int]) -> None:
    while not stop.is_set():
        try:
            step()
        except Exception:
            logger.exception("local %s poll failed", name)
        stop.wait(POLL_SECONDS)


def start_background_workers(context: LocalStackContext) -> Callable[[], None]:
    """Start the SQS job consumer and the stream poller (daemon threads); return a stopper."""
    sqs, dynamodb, streams = _clients(context)
    previous = {name: os.environ.get(name) for name in ("MILES_SCRAPE_QUEUE_URL", "MILES_SCRAPE_DLQ_ARN")}
    queue_url, dead_letters_url = ensure_queue(sqs)
    os.environ.setdefault("MILES_TABLE_NAME", context.table_name)
    stream_arn = dynamodb.describe_table(TableName=context.table_name)["Table"]["LatestStreamArn"]

    scorer = load_handler(SCORER)
    worker = load_handler(SCRAPE_WORKER)
    consumers = [QueueConsumer(sqs, queue_url, worker, context.region, batch_size=1) for _ in range(JOB_CONSUMERS)]
    consumers.append(QueueConsumer(sqs, dead_letters_url, worker, context.region, batch_size=10))
    poller = StreamPoller(streams, stream_arn, lambda event, _: scorer(event, worker_context("scorer")), context.region)
    stop = threading.Event()
    threads = [
        threading.Thread(target=_loop, args=("sqs", stop, consumer.poll_once), name=f"miles-sqs-{i}", daemon=True)
        for i, consumer in enumerate(consumers)
    ]
    threads.append(
        threading.Thread(target=_loop, args=("stream", stop, poller.poll_once), name="miles-stream", daemon=True)
    )
    for thread in threads:
        thread.start()
    logger.info("local workers started: queue %s, stream %s", queue_url, stream_arn)

    STATE_FILE.parent.mkdir(exist_ok=True)
    state = {"endpoint_url": context.endpoint_url, "table_name": context.table_name, "queue_url": queue_url}
    STATE_FILE.write_text(json.dumps(state), encoding="utf-8")

    def stop_workers() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        STATE_FILE.unlink(missing_ok=True)
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    return stop_workers
