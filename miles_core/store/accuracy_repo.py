"""Kept and settled scores: the store's half of "how right Miles has been".

The stream scorer *keeps* every score it computes (the stats it read, the video's age, model
version, regime, cohort) and, when a snapshot about a day later arrives, *settles* it: the same
score with the outcome the benchmark would have labelled it with. ``GET /model/accuracy`` reads
the settled scores of a window. Both writes are put-if-absent on keys made of the scored stats'
time, regime and model (:mod:`~miles_core.store.keys`), so a redelivered stream record keeps or
settles nothing twice. The label itself is computed in :mod:`miles_core.accuracy`; this module only
stores and reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from miles_core.store import keys
from miles_core.store.dynamo import DynamoTable, Retention
from miles_core.store.records import iso, parse_iso
from miles_core.store.schema import GSI1_NAME, GSI1_PARTITION_KEY, GSI1_SORT_KEY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

KEPT_SCORE_LIFETIME = timedelta(days=3)
"""An open score is useful until its outcome window (at most 30 h) has passed; then TTL deletes it."""


@dataclass(frozen=True)
class KeptScore:
    """One score as the scorer computed it, and the stats it was computed from."""

    video_id: str
    model_version: str
    regime: str
    cohort: str | None
    observed_at: datetime
    """When the scored stats were read: the start of the outcome's window."""
    view_count: int | None
    """Views at ``observed_at`` (also for a pre-publish score: the outcome starts from them)."""
    age_hours: float | None
    """The video's age at ``observed_at`` (None when its publish time is unknown)."""
    viral_probability: float
    predicted_velocity_views_per_hour: float
    scored_at: datetime


@dataclass(frozen=True)
class SettledScore:
    """A kept score with its outcome: the pair ``GET /model/accuracy`` measures."""

    score: KeptScore
    outcome_observed_at: datetime
    outcome_view_count: int
    hours_between: float
    velocity_views_per_hour: float
    log_growth: float | None
    is_viral: bool
    is_viral_rel: bool
    settled_at: datetime


def _kept_attributes(score: KeptScore) -> dict[str, Any]:
    return {
        "video_id": score.video_id,
        "model_version": score.model_version,
        "regime": score.regime,
        "cohort": score.cohort,
        "observed_at": iso(score.observed_at),
        "view_count": score.view_count,
        "age_hours": score.age_hours,
        "viral_probability": score.viral_probability,
        "predicted_velocity_views_per_hour": score.predicted_velocity_views_per_hour,
        "scored_at": iso(score.scored_at),
    }


def _kept_from_item(item: Mapping[str, Any]) -> KeptScore:
    return KeptScore(
        video_id=str(item["video_id"]),
        model_version=str(item["model_version"]),
        regime=str(item["regime"]),
        cohort=item.get("cohort"),
        observed_at=parse_iso(str(item["observed_at"])),
        view_count=None if item.get("view_count") is None else int(item["view_count"]),
        age_hours=None if item.get("age_hours") is None else float(item["age_hours"]),
        viral_probability=float(item["viral_probability"]),
        predicted_velocity_views_per_hour=float(item["predicted_velocity_views_per_hour"]),
        scored_at=parse_iso(str(item["scored_at"])),
    )


def _settled_from_item(item: Mapping[str, Any]) -> SettledScore:
    return SettledScore(
        score=_kept_from_item(item),
        outcome_observed_at=parse_iso(str(item["outcome_observed_at"])),
        outcome_view_count=int(item["outcome_view_count"]),
        hours_between=float(item["hours_between"]),
        velocity_views_per_hour=float(item["velocity_views_per_hour"]),
        log_growth=None if item.get("log_growth") is None else float(item["log_growth"]),
        is_viral=bool(item["is_viral"]),
        is_viral_rel=bool(item["is_viral_rel"]),
        settled_at=parse_iso(str(item["settled_at"])),
    )


class AccuracyRepository:
    """Kept and settled scores in the Miles table (``MilesStore.keep_score`` and the three beside it)."""

    def __init__(self, table: DynamoTable, clock: Callable[[], datetime], retention: Retention) -> None:
        self.table = table
        self._clock = clock
        self._retention = retention

    def keep(self, score: KeptScore) -> bool:
        """Keep a score until its outcome arrives; False when this very score was already kept."""
        key = keys.kept_score_key(score.video_id, score.observed_at, score.regime, score.model_version)
        item = {
            **key,
            "kind": "kept_score",
            **_kept_attributes(score),
            TTL_ATTRIBUTE: int((self._clock() + KEPT_SCORE_LIFETIME).timestamp()),
        }
        return self.table.put_if_absent(item, f"keeping a score of video {score.video_id}")

    def open_scores(self, video_id: str) -> list[KeptScore]:
        """The video's kept scores that no outcome has settled yet, oldest stats first (one Query)."""
        kept: dict[str, KeptScore] = {}
        settled: set[str] = set()
        for item in self.table.items(
            "query",
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": {"S": keys.scores_partition(video_id)}},
        ):
            sort_key = str(item[SORT_KEY])
            if sort_key.startswith(keys.KEPT_PREFIX):
                kept[sort_key.removeprefix(keys.KEPT_PREFIX)] = _kept_from_item(item)
            elif sort_key.startswith(keys.SETTLED_PREFIX):
                settled.add(sort_key.removeprefix(keys.SETTLED_PREFIX))
        return [score for suffix, score in sorted(kept.items()) if suffix not in settled]

    def settle(self, settled: SettledScore) -> bool:
        """Record a kept score's outcome; False when that score was already settled (the first outcome stands).

        A settled score holds the view counts YouTube gave at both ends, so it expires like every other piece of
        YouTube data: the retention period after the outcome was read (the later of the two readings).
        """
        score = settled.score
        item = {
            **keys.settled_score_key(score.video_id, score.observed_at, score.regime, score.model_version),
            "kind": "settled_score",
            **_kept_attributes(score),
            "outcome_observed_at": iso(settled.outcome_observed_at),
            "outcome_view_count": settled.outcome_view_count,
            "hours_between": settled.hours_between,
            "velocity_views_per_hour": settled.velocity_views_per_hour,
            "log_growth": settled.log_growth,
            "is_viral": settled.is_viral,
            "is_viral_rel": settled.is_viral_rel,
            "settled_at": iso(settled.settled_at),
            GSI1_PARTITION_KEY: keys.ACCURACY_PARTITION,
            GSI1_SORT_KEY: keys.accuracy_rank(
                settled.settled_at, score.video_id, score.observed_at, score.regime, score.model_version
            ),
            TTL_ATTRIBUTE: self._retention.expires(settled.outcome_observed_at),
        }
        return self.table.put_if_absent(item, f"settling a score of video {score.video_id}")

    def settled_since(self, since: datetime) -> Iterator[SettledScore]:
        """Every score settled at or after ``since``, oldest first (one paginated GSI1 Query)."""
        for item in self.table.items(
            "query",
            IndexName=GSI1_NAME,
            KeyConditionExpression="#gpk = :gpk AND #gsk >= :since",
            ExpressionAttributeNames={"#gpk": GSI1_PARTITION_KEY, "#gsk": GSI1_SORT_KEY},
            ExpressionAttributeValues={":gpk": {"S": keys.ACCURACY_PARTITION}, ":since": {"S": iso(since)}},
        ):
            yield _settled_from_item(item)
