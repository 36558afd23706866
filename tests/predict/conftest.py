"""Fixtures for the predict function: the real handler on the tiny artifact, API Gateway events."""

from __future__ import annotations

import importlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from miles_core.localstack.events import LocalLambdaContext


@pytest.fixture(scope="session")
def predict_app(tiny_artifact: Path) -> Iterator[ModuleType]:
    """``functions.predict.app`` imported once with MILES_MODEL_DIR = the tiny artifact."""
    previous = os.environ.get("MILES_MODEL_DIR")
    os.environ["MILES_MODEL_DIR"] = str(tiny_artifact)
    try:
        yield importlib.import_module("functions.predict.app")
    finally:
        if previous is None:
            os.environ.pop("MILES_MODEL_DIR", None)
        else:
            os.environ["MILES_MODEL_DIR"] = previous


def rest_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """A minimal API Gateway REST (v1) proxy event."""
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "local",
            "path": path,
            "httpMethod": method,
            "resourcePath": path,
        },
        "body": text,
        "isBase64Encoded": False,
    }


def invoke(app: ModuleType, event: dict[str, Any]) -> tuple[int, Any]:
    """Call the handler; returns (status, parsed JSON body or raw text)."""
    result = app.handler(event, LocalLambdaContext.for_request("predict"))
    body = result.get("body") or ""
    try:
        return result["statusCode"], json.loads(body)
    except json.JSONDecodeError:
        return result["statusCode"], body
