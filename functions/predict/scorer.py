"""Stream scorer: DynamoDB stream (video items) -> Predictor -> score written back onto the video.

Each score is also kept for live accuracy (with, for a newly seen video, its pre-publish score),
and the scores a video's new stats are the next-day outcome of are settled
(``miles_core.accuracy.tracking``), before the score is written: all of it idempotent, so a retried
record adds nothing twice.

Same image and artifact as the predict API (``MILES_MODEL_DIR``), loaded once per container.
Records are scored in one batch; the writes then go record by record through Powertools'
BatchProcessor, so a failing record is reported in ``batchItemFailures`` (the event source mapping
retries from it and, past its retry limit, sends it to the on-failure destination/DLQ) while the
others are kept. A failed prediction leaves the video unscored (and visible as such): Miles never
writes a made-up score.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from miles_core.accuracy.tracking import track_scores
from miles_core.inference import load_predictor
from miles_core.inference.predictor import Predictor
from miles_core.inference.stream_scoring import (
    plan_batch,
    relevance_by_topic,
    score_from_prediction,
    video_needing_score,
)
from miles_core.observability import build_observability
from miles_core.relevance import pack_embedding
from miles_core.store import ScoreWriteOutcome, VideoRecord, shared
from miles_core.topics import Topic

logger, metrics, tracer = build_observability("scorer")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
_state: dict[str, Any] = {}


def predictor() -> Predictor:
    """The model, loaded on first use and kept for the container's life."""
    if "predictor" not in _state:
        _state["predictor"] = load_predictor()
    loaded: Predictor = _state["predictor"]
    return loaded


def _sequence(record: DynamoDBRecord) -> str | None:
    return record.dynamodb.sequence_number if record.dynamodb else None


def _pending(record: DynamoDBRecord) -> VideoRecord | None:
    name = record.event_name.name if record.event_name else None
    stream = record.dynamodb
    return video_needing_score(name, stream.new_image if stream else {}, predictor().version)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (``scorer.handler`` in the predict image)."""
    records = [DynamoDBRecord(raw) for raw in event.get("Records", [])]
    plan = plan_batch(records, _sequence, _pending, predictor().predict)
    store = shared.store()
    topic_vectors: dict[Topic, np.ndarray] = {}  # one encoder run per topic and batch

    def topic_embedding(topic: Topic) -> np.ndarray:
        if topic not in topic_vectors:
            topic_vectors[topic] = predictor().topic_embedding(topic)
        return topic_vectors[topic]

    def record_handler(record: DynamoDBRecord) -> str:
        sequence = _sequence(record)
        if plan.is_superseded(sequence):
            return "superseded"
        video = _pending(record)
        if video is None:
            return "skipped"
        now = datetime.now(UTC)
        prediction = plan.prediction_for(sequence, video, predictor().predict)
        embedding = predictor().text_features([video.observation])[0].embedding  # cached by the batch call
        packed = pack_embedding(embedding)
        score = score_from_prediction(video, prediction, now, text_embedding=packed)
        pre_publish = plan.pre_publish_for(sequence, video, predictor().predict)
        kept = [score] if pre_publish is None else [score, score_from_prediction(video, pre_publish, now)]
        settled = track_scores(store, video, kept, now)
        if settled:
            metrics.add_metric(name="ScoresSettled", unit=MetricUnit.Count, value=settled)
        outcome = store.write_score(video, score, relevance_by_topic(video, packed, topic_embedding))
        metrics.add_metric(
            name="VideosScored" if outcome is ScoreWriteOutcome.WRITTEN else "ScoresStale",
            unit=MetricUnit.Count,
            value=1,
        )
        return outcome.value

    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
