"""``GET /model/accuracy`` on the real predict handler: groups, the shared metrics, a validated window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from miles_core.accuracy.metrics import regime_metrics
from miles_core.store import KeptScore, SettledScore, shared
from tests.support.events import rest_event
from tests.support.predict_app import invoke
from tests.support.throttle import Throttle


def settled(video: int, model: str, regime: str, cohort: str | None, probability: float, viral: bool) -> SettledScore:
    now = datetime.now(UTC)
    score = KeptScore(
        video_id=f"v{video}",
        model_version=model,
        regime=regime,
        cohort=cohort,
        observed_at=now - timedelta(hours=24),
        view_count=1000,
        age_hours=6.0 + video,
        viral_probability=probability,
        predicted_velocity_views_per_hour=100.0 * (video + 1),
        scored_at=now - timedelta(hours=24),
    )
    velocity = 50_000.0 if viral else 10.0 * video
    return SettledScore(score, now, 1000 + int(24 * velocity), 24.0, velocity, None, viral, False, now)


def get(app: ModuleType, query: str) -> tuple[int, Any]:
    return invoke(app, rest_event("GET", "/model/accuracy", query=query))


def test_groups_per_model_regime_and_cohort_with_the_evaluate_metrics(
    predict_app: ModuleType, aws: dict[str, Any]
) -> None:
    rows = [
        settled(0, "m1", "post_publish", "top", 0.9, True),
        settled(1, "m1", "post_publish", "fresh", 0.2, False),
        settled(2, "m1", "post_publish", "top", 0.8, False),
        settled(3, "m1", "post_publish", None, 0.7, True),
        settled(0, "m1", "pre_publish", "top", 0.3, True),
        settled(0, "m0", "post_publish", "top", 0.5, True),
    ]
    for row in rows:
        assert shared.store().settle_score(row)
    assert not shared.store().settle_score(rows[0])  # the first outcome stands
    status, report = get(predict_app, "window_days=7")
    assert status == 200, report
    assert report["n"] == len(rows)
    assert report["window_days"] == 7
    assert report["note"] is None
    groups = {(g["model_version"], g["regime"], g["cohort"]): g for g in report["groups"]}
    assert {key: g["n"] for key, g in groups.items()} == {
        ("m1", "post_publish", None): 4,
        ("m1", "post_publish", "top"): 2,
        ("m1", "post_publish", "fresh"): 1,
        ("m1", "pre_publish", None): 1,
        ("m1", "pre_publish", "top"): 1,
        ("m0", "post_publish", None): 1,
        ("m0", "post_publish", "top"): 1,
    }
    every = groups[("m1", "post_publish", None)]
    post = rows[:4]
    expected = regime_metrics(
        np.array([float(r.is_viral) for r in post]),
        np.array([r.score.viral_probability for r in post]),
        np.log1p([r.velocity_views_per_hour for r in post]),
        np.log1p([r.score.predicted_velocity_views_per_hour for r in post]),
    )
    for name, value in expected.items():
        assert every[name] == pytest.approx(value), name
    assert every["auroc"] == pytest.approx(0.75)  # 3 of the 4 (viral, not viral) pairs ranked right
    assert every["positives"] == 2
    assert every["mean_age_hours"] == pytest.approx(7.5)
    assert [(b["lower"], b["n"]) for b in every["reliability"]] == [
        (pytest.approx(3 / 15), 1),
        (pytest.approx(10 / 15), 1),
        (pytest.approx(12 / 15), 1),
        (pytest.approx(13 / 15), 1),
    ]
    assert groups[("m1", "pre_publish", None)]["auroc"] is None  # one class only: no AUROC to give


def test_scores_settled_before_the_window_are_not_counted(predict_app: ModuleType, aws: dict[str, Any]) -> None:
    old = settled(0, "m1", "post_publish", None, 0.9, True)
    shared.store().settle_score(
        SettledScore(**{**old.__dict__, "settled_at": datetime.now(UTC) - timedelta(days=2, minutes=1)})
    )
    status, report = get(predict_app, "window_days=2")
    assert (status, report["n"]) == (200, 0)
    status, report = get(predict_app, "window_days=3")
    assert (status, report["n"]) == (200, 1)


def test_an_empty_window_answers_zero_and_says_why(predict_app: ModuleType, aws: dict[str, Any]) -> None:
    status, report = get(predict_app, "")
    assert status == 200
    assert report["n"] == 0
    assert report["groups"] == []
    assert report["window_days"] == 30
    assert report["current_model_version"] == "tiny-test"
    assert "18-30 h" in report["note"]


@pytest.mark.parametrize("query", ["window_days=0", "window_days=31", "window_days=week", "window_days=1.5"])
def test_a_bad_window_is_a_422_naming_the_field(predict_app: ModuleType, aws: dict[str, Any], query: str) -> None:
    status, body = get(predict_app, query)
    assert status == 422
    assert [error["field"] for error in body["errors"]] == ["window_days"], body


def test_a_throttled_table_is_a_503_not_a_500(predict_app: ModuleType, aws: dict[str, Any]) -> None:
    throttle = Throttle(shared.store().table.client, "Query", failures=10**6)
    status, body = get(predict_app, "window_days=3")
    assert status == 503, body
    assert "throttling" in body["message"]
    assert throttle.throttled == 3  # botocore's tries, one layer
