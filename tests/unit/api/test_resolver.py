"""The shared resolver on a throw-away route: body rules through public Powertools hooks only.

The predict tests cover the statuses on a real function; these pin the paths a real route cannot
reach on demand: a form body that *passes* validation, a multipart body the parser rejects, a
UnicodeDecodeError raised by code rather than by the request body, the OpenAPI server URL.
"""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body

from miles_core.api import API_KEY_SECURITY, build_resolver
from miles_core.api.docs import DOCUMENT_PATH
from miles_core.api.exception_handlers import UNHANDLED_ERROR_METRIC
from miles_core.observability import tracing_disabled
from tests.support.events import rest_event as gateway_event


def rest_event(
    method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None, raw_body: str | None = None
) -> dict[str, Any]:
    """The one API Gateway event builder, with a JSON body by default (what these tests send)."""
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    return gateway_event(method, path, body=text, headers={"Content-Type": "application/json", **(headers or {})})


REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def app() -> Any:
    app = build_resolver(title="test", description="test", max_body_bytes=1024, openapi_document=DOCUMENT_PATH)

    @app.post("/echo", security=API_KEY_SECURITY)
    def echo(payload: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return payload

    @app.post("/boom")
    def boom(payload: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        b"\xff".decode("utf-8")
        return payload

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return app


def _call(app: Any, event: dict[str, Any]) -> tuple[int, Any]:
    result = app.resolve(event, None)
    return result["statusCode"], json.loads(result["body"])


def test_json_object_passes(app: Any) -> None:
    assert _call(app, rest_event("POST", "/echo", {"a": 1})) == (200, {"a": 1})


def test_form_body_that_validates_is_still_415(app: Any) -> None:
    """A ``dict`` body accepts what Powertools parses from a form: the middleware refuses it."""
    event = rest_event("POST", "/echo", raw_body="a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    status, body = _call(app, event)
    assert status == 415, body
    assert body["errors"][0] == {
        "field": "body",
        "location": "body",
        "message": "content type 'application/x-www-form-urlencoded' is not supported; send application/json",
        "type": "unsupported_content_type",
    }


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=x", "text/plain"])
def test_other_bodies_are_415_never_500(app: Any, content_type: str) -> None:
    status, body = _call(app, rest_event("POST", "/echo", raw_body='{"a": 1}', headers={"Content-Type": content_type}))
    assert status == 415, body


def test_content_type_without_body_is_not_refused(app: Any) -> None:
    assert _call(app, rest_event("GET", "/ping", headers={"Content-Type": "text/plain"}))[0] == 200


def test_body_that_is_not_utf8_is_400(app: Any) -> None:
    event = rest_event("POST", "/echo")
    event.update(body=base64.b64encode(b"\xff\xfe{}").decode(), isBase64Encoded=True)
    status, body = _call(app, event)
    assert status == 400, body
    assert body["errors"][0]["field"] == "body"


def test_an_unhandled_error_is_a_500_the_alarm_counts() -> None:
    """The 500 is answered, not raised (Lambda's Errors metric never sees it): it is counted as a metric."""
    metrics = Metrics(namespace="MilesTest", service="crashy")
    crashing = build_resolver(title="t", description="t", metrics=metrics)

    @crashing.get("/crash")
    def crash() -> dict[str, str]:
        raise RuntimeError("a bug")

    assert _call(crashing, rest_event("GET", "/crash"))[0] == 500
    emitted: dict[str, Any] = dict(metrics.serialize_metric_set())
    metrics.clear_metrics()
    assert emitted[UNHANDLED_ERROR_METRIC] == [1.0]
    assert emitted["service"] == "crashy"


def test_unicode_error_from_code_is_a_500(app: Any) -> None:
    status, body = _call(app, rest_event("POST", "/boom", {"a": 1}))
    assert status == 500
    assert body["message"] == "internal error"


@pytest.mark.parametrize(("raw", "status"), [("[1]", 422), ('"x"', 422), ("null", 422), ("{" + " " * 2000 + "}", 413)])
def test_json_that_is_not_a_small_object(app: Any, raw: str, status: int) -> None:
    assert _call(app, rest_event("POST", "/echo", raw_body=raw))[0] == status


@pytest.mark.parametrize(
    ("stage", "path", "server"), [("dev", "/dev/openapi.json", "/dev"), ("dev", "/openapi.json", "/")]
)
def test_openapi_server_is_the_stage_prefix_when_the_path_has_it(app: Any, stage: str, path: str, server: str) -> None:
    event = rest_event("GET", "/openapi.json")
    event["requestContext"].update(stage=stage, path=path)
    status, document = _call(app, event)
    assert status == 200
    assert document["servers"] == [{"url": server}]


@pytest.mark.parametrize(
    ("env", "disabled"),
    [
        ({}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, False),
    ],
)
def test_tracing_disabled_follows_powertools_rule(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], disabled: bool
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL", "POWERTOOLS_TRACE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert tracing_disabled() is disabled


def test_no_private_attribute_of_another_object_is_used() -> None:
    """Library and handlers use public APIs only (Powertools internals change without notice)."""
    allowed = {
        "argparse._SubParsersAction",  # the stdlib's only name for the subparsers type
        # Training only (never served): scikit-learn has no public view of a fitted HistGradientBoosting's
        # trees. scikit-learn is pinned (layers/ml-build.txt) and tests/unit/training/test_outputs_v2.py checks the
        # converted ONNX node against decision_function, so a change there fails loudly.
        "model._predictors",
        "model._baseline_prediction",
    }
    found = []
    for root in ("miles_core", "functions"):
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                    owner = node.value
                    if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                        continue
                    if ast.unparse(node) not in allowed:
                        found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {ast.unparse(node)}")
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aws_lambda_powertools"):
                    found += [
                        f"{path.relative_to(REPO_ROOT)}:{node.lineno} {a.name}" for a in node.names if a.name[0] == "_"
                    ]
    assert not found, found
