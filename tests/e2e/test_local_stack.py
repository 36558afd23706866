"""``make run``'s process over real HTTP: every route answers as documented, with the shipped model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import requests
from openapi_spec_validator import validate

from tests.support.stack import RunningStack

Json: TypeAlias = "bool | int | float | str | Sequence[Json] | Mapping[str, Json] | None"
"""A JSON value, as a request body holds it (what ``requests`` serialises)."""

IDEA: dict[str, Json] = {
    "title": "I tried the 5 AM routine for 30 days #shorts",
    "category_id": 22,
    "tags": ["routine"],
}
VIDEO: dict[str, Json] = {
    "title": "My cat learns to skateboard",
    "published_at": "2026-05-01T14:00:00Z",
    "observed_at": "2026-05-01T17:00:00Z",
    "view_count": 250000,
    "like_count": 9000,
    "comment_count": 450,
}


def test_health_and_docs_are_public(running_stack: RunningStack) -> None:
    health = requests.get(f"{running_stack.url}/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["model_version"].startswith("miles-")
    catalog = health.json()["catalog"]  # the banner came once the seeded catalog was scored
    assert catalog["ready"] is True, catalog
    assert catalog["videos"] == catalog["scored"] > 0
    assert "ideas are ready" in running_stack.banner
    spec = requests.get(f"{running_stack.url}/openapi.json", timeout=10).json()
    validate(spec)
    assert {"/predict", "/predict/batch", "/model", "/health"} <= set(spec["paths"])
    assert requests.get(f"{running_stack.url}/docs", timeout=10).status_code == 200
    assert running_stack.api_key in running_stack.banner  # make run prints the key to use


def test_key_is_required(running_stack: RunningStack) -> None:
    response = requests.post(f"{running_stack.url}/predict", json=IDEA, timeout=10)
    assert response.status_code == 403


def test_predict_both_regimes_with_the_shipped_model(http: requests.Session, running_stack: RunningStack) -> None:
    idea = http.post(f"{running_stack.url}/predict", json=IDEA, timeout=10)
    video = http.post(f"{running_stack.url}/predict", json=VIDEO, timeout=10)
    assert idea.status_code == 200, idea.text
    assert video.status_code == 200, video.text
    assert idea.json()["regime"] == "pre_publish"
    assert video.json()["regime"] == "post_publish"
    for body in (idea.json(), video.json()):
        assert 0.0 <= body["viral_probability"] <= 1.0
        assert body["predicted_velocity_views_per_hour"] >= 0.0
        assert body["is_viral"] == (body["viral_probability"] >= body["threshold"])
    # 250k views in 3 h is far above the 26k views/hour line: the model must see the stats.
    assert video.json()["viral_probability"] > idea.json()["viral_probability"]
    card = http.get(f"{running_stack.url}/model", timeout=10).json()
    assert card["model_version"] == video.json()["model_version"]


def test_batch_keeps_order(http: requests.Session, running_stack: RunningStack) -> None:
    single = [http.post(f"{running_stack.url}/predict", json=item, timeout=10).json() for item in (VIDEO, IDEA)]
    batch = http.post(f"{running_stack.url}/predict/batch", json={"items": [VIDEO, IDEA]}, timeout=10)
    assert batch.status_code == 200, batch.text
    items = batch.json()["items"]
    assert [i["regime"] for i in items] == ["post_publish", "pre_publish"]
    for one, other in zip(single, items, strict=True):
        # Static int8 quantization: a video scores the same alone or in any batch.
        assert abs(one["viral_probability"] - other["viral_probability"]) < 1e-6


def test_bad_inputs_get_4xx_naming_the_field(http: requests.Session, running_stack: RunningStack) -> None:
    cases: list[tuple[dict[str, Json], str]] = [
        ({"title": "   "}, "title"),
        ({"title": "x", "view_count": -1, "published_at": "2026-05-01T14:00:00Z"}, "view_count"),
        ({"title": "x", "view_count": 10, "like_count": 11, "published_at": "2026-05-01T14:00:00Z"}, "like_count"),
        ({"title": "x", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = http.post(f"{running_stack.url}/predict", json=body, timeout=10)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert field in response.text, (body, response.text)
    malformed = http.post(
        f"{running_stack.url}/predict", data=b"{not json", headers={"content-type": "application/json"}, timeout=10
    )
    assert malformed.status_code == 400


def test_recommendations_fallback_then_cache(http: requests.Session, running_stack: RunningStack) -> None:
    # A topic no other test (nor the OpenAPI examples the contract fuzzer replays) asks for: a cold cache.
    body: dict[str, Json] = {"topic": "kettlebell basics", "vibe": "educational", "count": 3}
    first = http.post(f"{running_stack.url}/recommendations", json=body, timeout=30)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["meta"]["generator"] == "fallback"
    assert answer["meta"]["cached"] is False
    probabilities = [idea["viral_probability"] for idea in answer["ideas"]]
    assert len(probabilities) == 3
    assert all(0.0 <= idea["miles_score"] <= 100.0 for idea in answer["ideas"])  # a score a creator can read
    assert all(0.0 <= idea["breakout_probability"] <= 1.0 for idea in answer["ideas"])
    assert probabilities == sorted(probabilities, reverse=True)
    second = http.post(f"{running_stack.url}/recommendations", json=body, timeout=30)
    assert second.json()["meta"]["cached"] is True
    bad = http.post(f"{running_stack.url}/recommendations", json={**body, "vibe": "sleepy"}, timeout=10)
    assert bad.status_code == 422
    assert "vibe" in bad.text


def test_scrape_job_is_accepted_and_reported(http: requests.Session, running_stack: RunningStack) -> None:
    accepted = http.post(f"{running_stack.url}/scrape/jobs", json={"topic": "cats", "max_results": 2}, timeout=10)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    status = http.get(f"{running_stack.url}/scrape/jobs/{job_id}", timeout=10)
    assert status.status_code == 200
    assert status.json()["job_id"] == job_id
    candidates = http.get(f"{running_stack.url}/candidates", params={"topic": "cats", "limit": "5"}, timeout=10)
    assert candidates.status_code == 200


def test_model_accuracy_counts_the_seeded_catalog(http: requests.Session, running_stack: RunningStack) -> None:
    """The seed writes t0, the scorer scores it, the seed writes the next day: by the banner those scores settled."""
    answer = http.get(f"{running_stack.url}/model/accuracy", params={"window_days": 1}, timeout=30)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["n"] > 0, report
    current = [g for g in report["groups"] if g["model_version"] == report["current_model_version"]]
    every_cohort = {g["regime"]: g for g in current if g["cohort"] is None}
    assert set(every_cohort) == {"post_publish", "pre_publish"}
    for group in every_cohort.values():
        assert group["n"] > 0
        assert sum(row["n"] for row in group["reliability"]) == group["n"]
    assert sum(g["n"] for g in every_cohort.values()) == report["n"]
    bad = http.get(f"{running_stack.url}/model/accuracy", params={"window_days": 0}, timeout=10)
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["window_days"]
