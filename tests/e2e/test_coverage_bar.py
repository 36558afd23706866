"""Honest scores through ``make run``'s stack and on fresh uploads, with the shipped model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from infra.studies.coverage import study
from miles_core.inference.predictor import Predictor
from tests.support.stack import RunningStack

TITLES = (
    "How to sharpen a chisel in 60 seconds",
    "I tried the 5 AM routine for 30 days",
    "My cat learns to skateboard",
    "We Built a Treehouse in 24 Hours",
)
NOT_SCORED = (
    "a",
    "Cómo hacer pan casero en casa sin horno",
    "शादी के मंडप में दुल्हन ने खोला दूल्हे का राज़",
    "動き出す、因果！クラブのセキュリティ",
)


def _predict(http: requests.Session, stack: RunningStack, title: str) -> dict[str, Any]:
    response = http.post(f"{stack.url}/predict/batch", json={"items": [{"title": title}]}, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()["items"][0]
    return answer


def test_shorts_marker_never_moves_the_score(http: requests.Session, running_stack: RunningStack) -> None:
    for title in TITLES:
        plain, marked = _predict(http, running_stack, title), _predict(http, running_stack, f"{title} #shorts")
        assert plain["coverage"] == "in_domain", plain["coverage_reasons"]
        assert plain["miles_score"] is not None
        assert marked["miles_score"] == plain["miles_score"]
        assert marked["format_markers"] == ["#shorts"]
        assert marked["coverage"] == "partial"


def test_what_the_model_cannot_read_gets_no_score(http: requests.Session, running_stack: RunningStack) -> None:
    for title in NOT_SCORED:
        answer = _predict(http, running_stack, title)
        assert answer["coverage"] == "outside", title
        assert answer["miles_score"] is None
        assert answer["coverage_reasons"]
        assert answer["meaning"]["miles_score"].startswith("No score")
        assert 0 <= answer["viral_probability"] <= 1


def test_the_model_states_its_population_and_the_document_its_coverage(
    http: requests.Session, running_stack: RunningStack
) -> None:
    card = http.get(f"{running_stack.url}/model", timeout=10).json()
    assert "Most Popular chart" in card["population"]["summary"]
    assert card["population"]["shorts"] == 0
    document = http.get(f"{running_stack.url}/openapi.json", timeout=10).json()
    result = document["components"]["schemas"]["PredictionResult"]["properties"]
    assert {"coverage", "coverage_reasons", "format_markers", "meaning"} <= set(result)


def test_in_domain_means_something_on_fresh_uploads(shipped_artifact: Path) -> None:
    """The bar: in_domain answers rank the uploads (Spearman >= 0.2), or fewer than 10 % are in_domain."""
    predictor = Predictor(shipped_artifact, threads=1)
    for declared in (True, False):
        result = study(predictor, declared_language=declared)
        assert result["uploads"] == 296
        assert result["passes"], result
