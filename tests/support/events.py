"""Events for tests: the repository's sample events, and the one builder/context the local stack uses.

``load_event(name)`` reads ``events/<name>`` (the files ``sam local invoke`` takes), so tests and
``sam local`` exercise the same events. API Gateway events and the Lambda context come from
``infra.localstack.events``, the implementation the local stack serves real HTTP with: tests do not
carry a second, simpler one that could drift from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.localstack.events import LocalLambdaContext, json_event, rest_event, schedule_event

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
EVENT_FILES = sorted(EVENTS_DIR.glob("*.json"))
"""Every sample event (``sam local invoke`` takes the same files)."""

__all__ = [
    "EVENTS_DIR",
    "EVENT_FILES",
    "LocalLambdaContext",
    "json_event",
    "lambda_context",
    "load_event",
    "rest_event",
    "schedule_event",
]


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of ``events/<name>`` (``.json`` may be left out), safe to modify."""
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def lambda_context(function_name: str = "miles-test") -> LocalLambdaContext:
    """A context for one invocation of ``function_name`` (API Gateway's 29 s left)."""
    return LocalLambdaContext.for_request(function_name)
