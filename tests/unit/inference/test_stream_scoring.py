"""``plan_batch``: the newest record of a video wins, one model call per batch, failures fall back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest

from miles_core.inference.predictor import Prediction
from miles_core.inference.stream_scoring import plan_batch, score_from_prediction
from miles_core.observation import Observation, Regime
from miles_core.store import Score, VideoRecord
from tests.support.moto_table import NOW
from tests.support.video_records import video_record


def video(video_id: str, views: int) -> VideoRecord:
    observation = Observation(
        video_id=video_id,
        title=f"video {video_id}",
        published_at=NOW - timedelta(hours=3),
        observed_at=NOW,
        view_count=views,
    )
    return video_record(observation, stats_key=f"{video_id}|{views}")


def prediction(observation: Observation) -> Prediction:
    return Prediction(
        viral_probability=min(1.0, (observation.view_count or 0) / 1000),
        is_viral=False,
        threshold=0.5,
        predicted_velocity_views_per_hour=1.0,
        regime=Regime.POST_PUBLISH,
        model_version="m1",
    )


class Model:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[list[str]] = []

    def predict(self, observations: Sequence[Observation]) -> list[Prediction]:
        self.calls.append([o.video_id or "" for o in observations])
        if self.fail and len(observations) > 1:
            raise RuntimeError("onnxruntime exploded")
        return [prediction(o) for o in observations]


Record = tuple[str | None, VideoRecord | None]


def plan(records: list[Record], model: Model):  # type: ignore[no-untyped-def]
    return plan_batch(records, lambda r: r[0], lambda r: r[1], model.predict)


def test_the_newest_record_of_a_video_supersedes_the_older_ones() -> None:
    model = Model()
    records: list[Record] = [("1", video("a", 100)), ("2", video("b", 5)), ("3", video("a", 300)), ("4", None)]
    batch = plan(records, model)
    # One call: each video once from its newest stats, then (never scored yet) once as an idea.
    assert model.calls == [["a", "b", "a", "b"]]
    assert batch.superseded == {"1"}
    assert batch.is_superseded("1")
    assert not batch.is_superseded("3")
    assert not batch.is_superseded(None)
    assert batch.predictions["3"].viral_probability == pytest.approx(0.3)
    assert set(batch.predictions) == {"2", "3"}


def test_a_failed_batch_call_leaves_each_record_to_predict_alone() -> None:
    model = Model(fail=True)
    batch = plan([("1", video("a", 100)), ("2", video("b", 200))], model)
    assert batch.predictions == {}
    alone = batch.prediction_for("2", video("b", 200), model.predict)
    assert alone.viral_probability == pytest.approx(0.2)
    assert model.calls[-1] == ["b"]


def test_an_unreadable_record_is_skipped_by_the_plan() -> None:
    def pending(record: Record) -> VideoRecord | None:
        if record[0] == "bad":
            raise KeyError("title")
        return record[1]

    model = Model()
    batch = plan_batch([("bad", None), ("2", video("b", 5))], lambda r: r[0], pending, model.predict)
    assert model.calls == [["b", "b"]]  # its stats, and its text alone (newly seen)
    assert set(batch.predictions) == {"2"}


def test_nothing_pending_means_no_model_call() -> None:
    model = Model()
    batch = plan([("1", None), (None, video("a", 1))], model)  # no sequence number: cannot be reported
    assert model.calls == []
    assert batch.predictions == {}


def test_a_newly_seen_video_is_also_scored_as_an_idea_in_the_same_call() -> None:
    model = Model()
    known = replace(video("b", 5), score=score_of(video("b", 5)))
    batch = plan([("1", video("a", 100)), ("2", known)], model)
    # One call: both videos from their stats, then the text-only copy of the one never scored before.
    assert model.calls == [["a", "b", "a"]]
    assert set(batch.pre_publish) == {"1"}
    model.calls.clear()
    assert batch.pre_publish_for("1", video("a", 100), model.predict) is batch.pre_publish["1"]
    assert batch.pre_publish_for("2", known, model.predict) is None
    assert model.calls == []


def test_the_idea_copy_has_no_stats() -> None:
    seen: list[Observation] = []

    def predict(observations: Sequence[Observation]) -> list[Prediction]:
        seen.extend(observations)
        return [prediction(o) for o in observations]

    plan_batch([("1", video("a", 100))], lambda r: r[0], lambda r: r[1], predict)
    assert [o.regime for o in seen] == [Regime.POST_PUBLISH, Regime.PRE_PUBLISH]
    assert seen[1].view_count is None


def score_of(record: VideoRecord) -> Score:
    return score_from_prediction(record, prediction(record.observation))
