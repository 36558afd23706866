"""The predict function for tests: the real handler on the tiny artifact (`predict_app`), and `invoke`."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.events import lambda_context


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


def invoke(app: ModuleType, event: dict[str, Any]) -> tuple[int, Any]:
    """Call the handler; returns (status, parsed JSON body or raw text)."""
    result = app.handler(event, lambda_context("predict"))
    body = result.get("body") or ""
    try:
        return result["statusCode"], json.loads(body)
    except json.JSONDecodeError:
        return result["statusCode"], body
