"""The predict handler in-process, with API Gateway REST events: routes, validation, OpenAPI."""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openapi_spec_validator import validate

from infra.localstack.routes import ROUTES
from miles_core.api.schemas.predict import MAX_BATCH_ITEMS, MAX_VARIANTS
from miles_core.observation import MAX_TITLE_CHARS
from tests.support.events import json_event, lambda_context
from tests.support.predict_app import invoke

PUBLISHED = "2026-01-10T12:00:00Z"
OBSERVED = "2026-01-10T15:00:00Z"
POST_PUBLISH = {
    "title": "I tried the 5 AM routine for 30 days #shorts",
    "description": "what happened",
    "tags": ["morning routine", "productivity"],
    "category_id": 22,
    "duration_seconds": 41,
    "published_at": PUBLISHED,
    "observed_at": OBSERVED,
    "view_count": 12500,
    "like_count": 900,
    "comment_count": 45,
    "thumbnail_url": "https://i.ytimg.com/vi/x/hq.jpg",
    "channel_id": "UCabc_123",
    "language": "en",
    "channel_follower_count": 1000,
}


def test_predict_pre_publish_idea(predict_app):
    status, body = invoke(predict_app, json_event("POST", "/predict", {"title": "  Cooking pasta in 30 seconds  "}))
    assert status == 200, body
    assert body["regime"] == "pre_publish"
    assert 0.0 <= body["viral_probability"] <= 1.0
    assert body["is_viral"] == (body["viral_probability"] >= body["threshold"])
    assert body["predicted_velocity_views_per_hour"] >= 0
    assert body["model_version"] == "tiny-test"
    assert body["processing_time_ms"] > 0
    assert body["warnings"] == []


def test_predict_post_publish_with_every_field(predict_app):
    status, body = invoke(predict_app, json_event("POST", "/predict", POST_PUBLISH))
    assert status == 200, body
    assert body["regime"] == "post_publish"


def test_stats_change_the_answer(predict_app):
    """Post-publish stats must reach the model through the API, in the right direction overall.

    Three hours after publishing, 3 views is a dead start and 3 million (a million views an hour,
    far over the 26k views/hour viral line) a hit: every rung answers differently, the hit is on the
    viral side of the threshold and the dead start not, and the hit's predicted growth is the larger.
    The strict ladder (each rung above the last) is asked of the shipped model in
    ``tests/e2e/test_shipped_model.py``; this tiny artifact is too small to owe it at the bottom.
    """
    ladder = [(3, 0, 0), (300, 10, 1), (30_000, 1_000, 50), (3_000_000, 200_000, 9_000)]
    answers = []
    for views, likes, comments in ladder:
        request = {**POST_PUBLISH, "view_count": views, "like_count": likes, "comment_count": comments}
        status, body = invoke(predict_app, json_event("POST", "/predict", request))
        assert status == 200, body
        answers.append(body)
    probabilities = [answer["viral_probability"] for answer in answers]
    assert len(set(probabilities)) == len(probabilities), probabilities
    assert probabilities[-1] == max(probabilities), probabilities
    dead, hot = answers[0], answers[-1]
    assert dead["is_viral"] is False
    assert hot["is_viral"] is True
    assert hot["viral_probability"] - dead["viral_probability"] > 0.5
    assert hot["predicted_velocity_views_per_hour"] > dead["predicted_velocity_views_per_hour"]


def test_observed_at_defaults_to_now(predict_app):
    recent = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    request = {"title": "fresh upload", "published_at": recent, "view_count": 100}
    status, body = invoke(predict_app, json_event("POST", "/predict", request))
    assert status == 200, body
    assert body["regime"] == "post_publish"


def test_unknown_language_is_outside_not_an_error(predict_app):
    status, body = invoke(predict_app, json_event("POST", "/predict", {"title": "receita rápida", "language": "pt-BR"}))
    assert status == 200
    assert any("pt-BR" in warning for warning in body["warnings"])
    assert body["coverage"] == "outside"
    assert body["miles_score"] is None
    assert 0 <= body["viral_probability"] <= 1
    assert {reason["code"] for reason in body["coverage_reasons"]} >= {"declared_language"}


def test_format_markers_are_reported_and_never_scored(predict_app):
    title = "Three knots every sailor should know"
    _, plain = invoke(predict_app, json_event("POST", "/predict", {"title": title}))
    _, marked = invoke(predict_app, json_event("POST", "/predict", {"title": f"{title} #shorts #FYP"}))
    assert marked["format_markers"] == ["#shorts", "#fyp"]
    assert marked["coverage"] == "partial"
    assert plain["format_markers"] == []
    reported = {"format_markers", "coverage", "coverage_reasons", "warnings", "processing_time_ms"}
    assert {k: v for k, v in marked.items() if k not in reported} == {
        k: v for k, v in plain.items() if k not in reported
    }


def test_batch_keeps_order_and_matches_single(predict_app):
    items = [{"title": f"video {i} about cats"} for i in range(5)] + [POST_PUBLISH]
    status, body = invoke(predict_app, json_event("POST", "/predict/batch", {"items": items}))
    assert status == 200, body
    assert len(body["items"]) == 6
    assert [item["regime"] for item in body["items"]] == ["pre_publish"] * 5 + ["post_publish"]
    _, single = invoke(predict_app, json_event("POST", "/predict", items[3]))
    # Dynamic int8 quantizes activations per tensor, so batch-mates shift scores slightly (~1e-3).
    assert body["items"][3]["viral_probability"] == pytest.approx(single["viral_probability"], abs=0.01)
    assert body["items"][3]["viral_probability"] != body["items"][5]["viral_probability"]


def test_model_card_and_health(predict_app):
    status, card = invoke(predict_app, json_event("GET", "/model"))
    assert status == 200
    assert card["model_version"] == "tiny-test"
    _, answer = invoke(predict_app, json_event("POST", "/predict", {"title": "x"}))
    assert answer["threshold"] == card["threshold"]  # is_viral uses the card's threshold
    status, health = invoke(predict_app, json_event("GET", "/health"))
    assert status == 200
    assert health["status"] == "ok"
    assert health["model_version"] == "tiny-test"


def test_openapi_document_validates_and_documents_fields(predict_app):
    status, document = invoke(predict_app, json_event("GET", "/openapi.json"))
    assert status == 200
    validate(document)
    paths = document["paths"]
    # The whole API (every route of the route table, the creator page included), not only this function's routes.
    assert set(paths) == {route.path for route in ROUTES}
    request = document["components"]["schemas"]["PredictRequest"]
    undocumented = [name for name, field in request["properties"].items() if not field.get("description")]
    assert undocumented == []
    assert request["additionalProperties"] is False
    assert paths["/predict"]["post"]["security"] == [{"apiKey": []}]
    assert "security" not in paths["/health"]["get"]
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "API Gateway API key (usage plan).",
    }


def test_docs_page_works_offline(predict_app):
    event = json_event("GET", "/docs", headers={"Accept-Encoding": "gzip"})
    result = predict_app.handler(event, lambda_context("predict"))
    assert result["statusCode"] == 200
    html = gzip.decompress(base64.b64decode(result["body"])).decode("utf-8")
    assert "SwaggerUIBundle" in html
    # JS and CSS are inlined (the page is > 1 MB) and no tag loads anything from the network.
    assert len(html) > 1_000_000
    assert re.search(r"<(script|link)[^>]*(src|href)=['\"]?https?://", html) is None


def _error_fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body["errors"]}


def _now_plus(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


BAD_REQUESTS: list[tuple[str, Any, int, str]] = [
    ("empty title", {"title": ""}, 422, "title"),
    ("whitespace title", {"title": "   \t\n"}, 422, "title"),
    ("missing title", {"description": "x"}, 422, "title"),
    ("title too long", {"title": "x" * (MAX_TITLE_CHARS + 1)}, 422, "title"),
    ("title not a string", {"title": 42}, 422, "title"),
    ("negative views", {**POST_PUBLISH, "view_count": -1}, 422, "view_count"),
    ("fractional views", {**POST_PUBLISH, "view_count": 10.5}, 422, "view_count"),
    ("views as string", {**POST_PUBLISH, "view_count": "100"}, 422, "view_count"),
    ("views as bool", {**POST_PUBLISH, "view_count": True}, 422, "view_count"),
    ("float-looking int views", {**POST_PUBLISH, "view_count": 1e3}, 422, "view_count"),
    ("negative likes", {**POST_PUBLISH, "like_count": -5}, 422, "like_count"),
    ("likes above views", {**POST_PUBLISH, "view_count": 10, "like_count": 11}, 422, "like_count"),
    ("likes without views", {"title": "x", "published_at": PUBLISHED, "like_count": 3}, 422, "like_count"),
    ("comments without views", {"title": "x", "comment_count": 3}, 422, "comment_count"),
    ("views without published_at", {"title": "x", "view_count": 100}, 422, "view_count"),
    ("naive published_at", {**POST_PUBLISH, "published_at": "2026-01-10T12:00:00"}, 422, "published_at"),
    ("naive observed_at", {**POST_PUBLISH, "observed_at": "2026-01-10T15:00:00"}, 422, "observed_at"),
    ("unix timestamp", {**POST_PUBLISH, "published_at": 1767000000}, 422, "published_at"),
    ("garbage timestamp", {**POST_PUBLISH, "published_at": "yesterday"}, 422, "published_at"),
    ("observed before published", {**POST_PUBLISH, "observed_at": "2026-01-09T00:00:00Z"}, 422, "observed_at"),
    ("observed in the future", {**POST_PUBLISH, "observed_at": _now_plus(48)}, 422, "observed_at"),
    ("views on a future video", {"title": "x", "published_at": _now_plus(48), "view_count": 5}, 422, "view_count"),
    ("unknown field", {"title": "x", "viewz": 3}, 422, "viewz"),
    ("negative duration", {"title": "x", "duration_seconds": -1}, 422, "duration_seconds"),
    ("duration as string", {"title": "x", "duration_seconds": "41"}, 422, "duration_seconds"),
    ("category out of range", {"title": "x", "category_id": 0}, 422, "category_id"),
    ("category as float", {"title": "x", "category_id": 22.0}, 422, "category_id"),
    ("tags not a list", {"title": "x", "tags": "a,b"}, 422, "tags"),
    ("blank tag", {"title": "x", "tags": ["ok", " "]}, 422, "tags[1]"),
    ("too many tags", {"title": "x", "tags": ["t"] * 101}, 422, "tags"),
    ("bad language", {"title": "x", "language": "english please"}, 422, "language"),
    ("bad thumbnail", {"title": "x", "thumbnail_url": "javascript:alert(1)"}, 422, "thumbnail_url"),
    ("too many variants", {"title": "x", "variants": [f"v{i}" for i in range(MAX_VARIANTS + 1)]}, 422, "variants"),
    ("blank variant", {"title": "x", "variants": ["ok", "  "]}, 422, "variants[1]"),
    ("variant too long", {"title": "x", "variants": ["v" * (MAX_TITLE_CHARS + 1)]}, 422, "variants[0]"),
    ("variant not a string", {"title": "x", "variants": [3]}, 422, "variants[0]"),
    ("variants not a list", {"title": "x", "variants": "a"}, 422, "variants"),
    ("duplicate variants", {"title": "x", "variants": ["Same", " same "]}, 422, "variants"),
    ("variant repeats the title", {"title": "My Title", "variants": ["my title"]}, 422, "variants"),
    ("body is a list", [{"title": "x"}], 422, "body"),
    ("body is a string", "title", 422, "body"),
    ("null body", None, 422, "body"),
]


@pytest.mark.parametrize(("case", "payload", "status", "field"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_input_is_a_4xx_naming_the_field(predict_app, case, payload, status, field):
    got_status, body = invoke(predict_app, json_event("POST", "/predict", payload))
    assert got_status == status, body
    assert field in _error_fields(body), body
    assert body["request_id"]
    assert body["message"]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("{not json", 400),
        ('{"title": "a", "title": "b"}', 400),
        ('{"title": "a", "duration_seconds": NaN}', 400),
        ('{"title": "a", "view_count": Infinity}', 400),
        ("[" * 100_000, 400),
        ("", 422),
    ],
    ids=["malformed", "duplicate-key", "nan", "infinity", "deep-nesting", "empty"],
)
def test_malformed_json(predict_app, raw, status):
    got_status, body = invoke(predict_app, json_event("POST", "/predict", raw=raw))
    assert got_status == status, body
    assert body["errors"][0]["field"] == "body"


def test_oversized_body_is_413(predict_app):
    raw = json.dumps({"title": "x", "description": "y" * 600_000})
    status, body = invoke(predict_app, json_event("POST", "/predict", raw=raw))
    assert status == 413
    assert body["errors"][0]["type"] == "body_too_large"


def test_oversized_batch_names_items(predict_app):
    items = [{"title": "x"}] * (MAX_BATCH_ITEMS + 1)
    status, body = invoke(predict_app, json_event("POST", "/predict/batch", {"items": items}))
    assert status == 422
    assert "items" in _error_fields(body)
    status, body = invoke(predict_app, json_event("POST", "/predict/batch", {"items": []}))
    assert status == 422


def test_bad_batch_item_is_named_by_index(predict_app):
    items = [{"title": "ok"}, {"title": "ok", "view_count": -1, "published_at": PUBLISHED}]
    status, body = invoke(predict_app, json_event("POST", "/predict/batch", {"items": items}))
    assert status == 422
    assert "items[1].view_count" in _error_fields(body)


def test_non_json_content_type_is_415(predict_app):
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"):
        event = json_event("POST", "/predict", {"title": "x"}, headers={"Content-Type": content_type})
        status, body = invoke(predict_app, event)
        assert status == 415, (content_type, body)


def test_unknown_route_and_method(predict_app):
    assert invoke(predict_app, json_event("GET", "/nope"))[0] == 404
    assert invoke(predict_app, json_event("GET", "/predict"))[0] in (404, 405)


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(10 if depth < 3 else 6)
    scalars: list[Any] = [
        None,
        True,
        rng.randint(-(10**15), 10**15),
        rng.uniform(-1e9, 1e9),
        "".join(rng.choice("ab \x00\u00e9\U0001f600<>\"'\\") for _ in range(rng.randrange(0, 12))),
        rng.choice(["2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "", "0"]),
    ]
    if choice < 6:
        return scalars[choice]
    if choice < 8:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice([*FIELDS, "x"]): _random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


FIELDS = list(POST_PUBLISH)


def _mutations(rng: random.Random, count: int) -> list[Any]:
    """Valid requests with one to three fields replaced by random JSON, plus fully random documents."""
    cases: list[Any] = []
    for _ in range(count):
        request: dict[str, Any] = dict(POST_PUBLISH)
        for name in rng.sample(FIELDS, rng.randrange(1, 4)):
            if rng.random() < 0.2:
                request.pop(name)
            else:
                request[name] = _random_json(rng)
        cases.append(request)
        cases.append(_random_json(rng))
    return cases


def test_fuzz_no_input_produces_a_5xx(predict_app):
    """Random and mutated bodies on both POST routes: always 200 or a 4xx error body, never 5xx."""
    rng = random.Random(20260521)
    statuses: set[int] = set()
    for payload in _mutations(rng, 150):
        for path, body in (("/predict", payload), ("/predict/batch", {"items": [payload, {"title": "ok"}]})):
            status, answer = invoke(predict_app, json_event("POST", path, body))
            statuses.add(status)
            assert status < 500, (path, payload, answer)
            if status != 200:
                assert answer["errors"], (payload, answer)
    assert {200, 422} <= statuses  # the fuzzer reaches both outcomes


def test_serving_path_imports_no_torch(tiny_artifact):
    code = (
        "import sys; import functions.predict.app as app; "
        "heavy = ('torch', 'transformers', 'sentence_transformers'); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy); "
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"MILES_MODEL_DIR": str(tiny_artifact), "PATH": "/usr/bin:/bin", "PYTHONPATH": "."},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""


def test_cold_start_leaves_the_openapi_models_unimported(tiny_artifact):
    """Powertools' OpenAPI models (~75 ms to import) are needed only to build a schema (``make openapi``).

    The predict function serves the committed document, so its init must not pay for them
    (a cold-start cost); a request through validation must not need them either.
    """
    code = (
        "import sys, json; import functions.predict.app as app; "
        "from infra.localstack.events import LocalLambdaContext, json_event; "
        "loaded = 'aws_lambda_powertools.event_handler.openapi.models' in sys.modules; "
        "answer = app.handler(json_event('POST', '/predict', {'title': 'a cat'}), "
        "LocalLambdaContext.for_request('PredictFunction')); "
        "print(json.dumps([loaded, answer['statusCode'], "
        "'aws_lambda_powertools.event_handler.openapi.models' in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "MILES_MODEL_DIR": str(tiny_artifact),
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": ".",
            "POWERTOOLS_METRICS_NAMESPACE": "MilesTest",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [False, 200, False]


def test_predict_answers_a_readable_score_and_breakout_chance(predict_app):
    status, body = invoke(predict_app, json_event("POST", "/predict", POST_PUBLISH))
    assert status == 200, body
    assert 0.0 <= body["miles_score"] <= 100.0
    assert 0.0 <= body["breakout_probability"] <= 1.0
    assert body["contributions"] is None  # only on request: explaining adds a head call on 7x the rows


def test_explain_is_opt_in_per_item_and_names_every_group(predict_app):
    groups = {"text", "lexical", "early_stats", "timing", "category", "channel"}
    status, single = invoke(predict_app, json_event("POST", "/predict", {**POST_PUBLISH, "explain": True}))
    assert status == 200, single
    assert set(single["contributions"]) == groups
    plain = {k: v for k, v in POST_PUBLISH.items()}
    status, batch = invoke(
        predict_app, json_event("POST", "/predict/batch", {"items": [plain, {**plain, "explain": True}]})
    )
    assert status == 200, batch
    first, second = batch["items"]
    assert first["contributions"] is None
    assert set(second["contributions"]) == groups
    assert first["viral_probability"] == pytest.approx(second["viral_probability"], abs=1e-6)
    assert single["viral_probability"] == pytest.approx(second["viral_probability"], abs=1e-6)


@pytest.mark.parametrize("value", ["true", 1, None])
def test_explain_must_be_a_json_boolean(predict_app, value):
    status, body = invoke(predict_app, json_event("POST", "/predict", {"title": "x", "explain": value}))
    assert status == 422, body
    assert "explain" in [error["field"] for error in body["errors"]]


def test_variants_are_scored_ranked_with_the_title_and_the_best_is_named(predict_app):
    titles = ["I tried the 5 AM routine for 30 days", "5 AM routine: day 30", "Why I wake up at 5 AM now"]
    request = {**POST_PUBLISH, "title": titles[0], "variants": titles[1:]}
    status, body = invoke(predict_app, json_event("POST", "/predict", request))
    assert status == 200, body
    assert [v["title"] for v in body["variants"]] == titles[1:]  # request order
    # Each variant scores exactly as that title sent alone (the same item otherwise).
    scores = {titles[0]: body["viral_probability"]}
    for variant in body["variants"]:
        status, alone = invoke(predict_app, json_event("POST", "/predict", {**POST_PUBLISH, "title": variant["title"]}))
        assert variant["viral_probability"] == pytest.approx(alone["viral_probability"], abs=1e-6)
        assert variant["miles_score"] == pytest.approx(alone["miles_score"], abs=0.1)
        assert (variant["coverage"], variant["coverage_reasons"]) == (alone["coverage"], alone["coverage_reasons"])
        scores[variant["title"]] = variant["viral_probability"]
    assert body["best_title"] == max(scores, key=lambda t: (scores[t], t == titles[0]))
    ranks = sorted(v["rank"] for v in body["variants"])
    assert len(set(ranks)) == 2
    assert set(ranks) <= {1, 2, 3}
    best_rank = next((v["rank"] for v in body["variants"] if v["title"] == body["best_title"]), 1)
    assert best_rank == 1


def test_a_variant_the_model_cannot_read_says_why(predict_app):
    request = {"title": "I tried the 5 AM routine for 30 days", "variants": ["Probé la rutina de las 5 de la mañana"]}
    status, body = invoke(predict_app, json_event("POST", "/predict", request))
    assert status == 200, body
    (variant,) = body["variants"]
    assert (variant["coverage"], variant["miles_score"]) == ("outside", None)
    assert "language" in [reason["code"] for reason in variant["coverage_reasons"]]
    assert all(reason["message"] for reason in variant["coverage_reasons"])
    assert body["coverage_reasons"] == []


def test_batch_items_take_variants_each(predict_app):
    items = [{"title": "cats vs cucumbers", "variants": ["cucumbers vs cats"]}, {"title": "no variants here"}]
    status, batch = invoke(predict_app, json_event("POST", "/predict/batch", {"items": items}))
    assert status == 200, batch
    first, second = batch["items"]
    assert [v["title"] for v in first["variants"]] == ["cucumbers vs cats"]
    assert first["best_title"] in {"cats vs cucumbers", "cucumbers vs cats"}
    assert (second["variants"], second["best_title"]) == (None, None)
    status, body = invoke(
        predict_app, json_event("POST", "/predict/batch", {"items": [items[0], {"title": "a", "variants": ["A"]}]})
    )
    assert status == 422
    assert "items[1].variants" in _error_fields(body)
