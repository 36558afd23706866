"""Stream scoring logic (used by ``functions/predict/scorer.py``): which records need a score, and the score.

A stream record needs scoring when it is a video item whose current stats have no score from the
loaded model. That single rule gives: new videos are scored, videos with refreshed stats are
re-scored, a new model re-scores on the next change, and the scorer's own write (which only adds a
current score) is skipped, so it cannot loop. A failed prediction raises; nothing is invented.

A batch is planned first (:func:`plan_batch`): only the newest record of each video is scored
(older ones hold older stats and are *superseded*), and every pending video is predicted in one
model call, together with the pre-publish copy of each newly seen video (its text, category and
timing alone: what a creator would have been told before posting, kept for live accuracy). The
writes then go record by record, so one failing record fails alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np

from miles_core.inference.predictor import Prediction
from miles_core.observation import Observation, Regime
from miles_core.relevance import relevance
from miles_core.store import Score, VideoRecord, is_video_item, iso, video_from_item
from miles_core.store.records import MAX_TOPICS_PER_VIDEO
from miles_core.topics import Topic

logger = logging.getLogger(__name__)
Record = TypeVar("Record")
Predict = Callable[[Sequence[Observation]], list[Prediction]]

REQUIRED_ATTRIBUTES = ("video_id", "title", "observed_at", "stats_key", "first_seen_at", "last_seen_at")


def video_needing_score(event_name: str | None, new_image: Mapping[str, Any], model_version: str) -> VideoRecord | None:
    """The video to score for this stream record, or None when there is nothing to do."""
    if event_name not in ("INSERT", "MODIFY") or not new_image or not is_video_item(new_image):
        return None
    if not all(new_image.get(name) for name in REQUIRED_ATTRIBUTES):
        # Not a complete video item (moto's local stream emits a keys-only INSERT before the real
        # one for an UpdateItem that creates an item). Nothing to score; never guess.
        return None
    video = video_from_item(new_image)
    score = video.score
    if score is not None and score.stats_key == video.stats_key and score.model_version == model_version:
        return None
    return video


def is_newly_seen(video: VideoRecord) -> bool:
    """No score yet and published stats: its pre-publish score is still worth keeping.

    A video first seen without views is scored pre-publish anyway, so it needs no second copy.
    """
    return video.score is None and video.observation.regime is Regime.POST_PUBLISH


def score_from_prediction(
    video: VideoRecord, prediction: Prediction, now: datetime | None = None, text_embedding: bytes | None = None
) -> Score:
    """The score to store: the prediction plus the exact stats (and their key) it was computed from.

    ``text_embedding`` (packed, ``miles_core.relevance``) is the model's embedding of the video's text,
    stored with the score so relevance to any topic is one dot product, never another encoder run.
    """
    obs = video.observation
    return Score(
        viral_probability=prediction.viral_probability,
        predicted_velocity_views_per_hour=prediction.predicted_velocity_views_per_hour,
        is_viral=prediction.is_viral,
        threshold=prediction.threshold,
        regime=prediction.regime.value,
        model_version=prediction.model_version,
        scored_at=now or datetime.now(UTC),
        stats_key=video.stats_key,
        stats={
            "observed_at": iso(obs.observed_at) if obs.observed_at else None,
            "view_count": obs.view_count,
            "like_count": obs.like_count,
            "comment_count": obs.comment_count,
            "age_hours": round(obs.age_hours, 4) if obs.age_hours is not None else None,
        },
        text_embedding=text_embedding,
    )


def relevance_by_topic(
    video: VideoRecord, text_embedding: bytes | None, topic_embedding: Callable[[Topic], np.ndarray]
) -> dict[Topic, float | None]:
    """The video's relevance to each topic whose leaderboard holds it (``miles_core.relevance``'s one measure).

    Measured once, with the score, and written onto the leaderboard rows: ``GET /candidates?topic=``
    then keeps the rows about the topic without an encoder (the scrape image carries no model).
    """
    topics = video.topics[:MAX_TOPICS_PER_VIDEO]
    return {topic: relevance(topic_embedding(topic), [text_embedding])[0] for topic in topics}


@dataclass
class BatchPlan:
    """What one stream batch needs: predictions by sequence number, and the records superseded within it."""

    predictions: dict[str, Prediction] = field(default_factory=dict)
    pre_publish: dict[str, Prediction] = field(default_factory=dict)
    """The text-only prediction of each newly seen video, by sequence number."""
    superseded: set[str] = field(default_factory=set)

    def is_superseded(self, sequence: str | None) -> bool:
        """A later record of the same video is in this batch: this one's stats are already old."""
        return sequence is not None and sequence in self.superseded

    def prediction_for(self, sequence: str | None, video: VideoRecord, predict: Predict) -> Prediction:
        """The batch prediction of this record, or (when the batch call failed) one of its own."""
        planned = self.predictions.get(sequence or "")
        return planned if planned is not None else predict([video.observation])[0]

    def pre_publish_for(self, sequence: str | None, video: VideoRecord, predict: Predict) -> Prediction | None:
        """The text-only prediction of a newly seen video (None for any other), planned or of its own."""
        if not is_newly_seen(video):
            return None
        planned = self.pre_publish.get(sequence or "")
        return planned if planned is not None else predict([video.observation.as_pre_publish()])[0]


def plan_batch(
    records: Iterable[Record],
    sequence_of: Callable[[Record], str | None],
    pending: Callable[[Record], VideoRecord | None],
    predict: Predict,
) -> BatchPlan:
    """Keep the newest record of each video (stream order) and predict those videos in one call.

    The same call predicts the pre-publish copy of every newly seen video (:func:`is_newly_seen`).

    ``pending`` may raise for a malformed record: it is skipped here and reported as a failed
    record when handled on its own. If the batch prediction fails, the plan has no predictions and
    each record is predicted on its own (so one bad video cannot fail the others).
    """
    latest: dict[str, tuple[str, VideoRecord]] = {}
    plan = BatchPlan()
    for record in records:
        try:
            video = pending(record)
        except Exception:  # malformed image: the record handler reports it as a failed record
            logger.warning("unreadable stream record skipped in batch prediction", exc_info=True)
            continue
        sequence = sequence_of(record)
        if video is None or not sequence:
            continue
        if video.video_id in latest:
            plan.superseded.add(latest[video.video_id][0])
        latest[video.video_id] = (sequence, video)
    if not latest:
        return plan
    fresh = [(sequence, video) for sequence, video in latest.values() if is_newly_seen(video)]
    observations = [video.observation for _, video in latest.values()]
    observations += [video.observation.as_pre_publish() for _, video in fresh]
    try:
        predictions = predict(observations)
    except Exception:
        logger.exception("batch prediction failed; predicting record by record")
        return plan
    scored, pre_publish = predictions[: len(latest)], predictions[len(latest) :]
    plan.predictions = {sequence: p for (sequence, _), p in zip(latest.values(), scored, strict=True)}
    plan.pre_publish = {sequence: p for (sequence, _), p in zip(fresh, pre_publish, strict=True)}
    return plan
