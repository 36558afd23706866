"""Stream scoring logic (used by ``functions/predict/scorer.py``): which records need a score, and the score.

A stream record needs scoring when it is a video item whose current stats have no score from the
loaded model. That single rule gives: new videos are scored, videos with refreshed stats are
re-scored, a new model re-scores on the next change, and the scorer's own write (which only adds a
current score) is skipped, so it cannot loop. A failed prediction raises; nothing is invented.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from miles_core.inference.predictor import Prediction
from miles_core.store import Score, VideoRecord, is_video_item, iso, video_from_item

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


def score_from_prediction(video: VideoRecord, prediction: Prediction, now: datetime | None = None) -> Score:
    """The score to store: the prediction plus the exact stats (and their key) it was computed from."""
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
    )
