"""Every events/*.json runs through the handler the template wires it to, in-process with moto.

The in-process equivalent of `sam local invoke <Function> -e events/<file>`: the function's
environment comes from the template (parameters at their defaults, resources created in moto), the
handler is imported from its file as Lambda imports it from the task root, and the model directory
is the tiny real artifact. The event-to-function mapping comes from the template, not from a list.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from miles_core.scraping.schedule import scheduled_job_id
from miles_core.store import Cohort, shared
from miles_core.topics import Topic, normalize_topic
from tests.support.events import EVENT_FILES, load_event
from tests.support.template import load_template
from tests.support.template_invoke import function_for_event, invoke_event, template_resources

PRECONDITIONS = {"scrape_job_status.json": "scrape_schedule.json"}
"""Events that need another event's effect first: the status event asks for the job the schedule creates."""


@pytest.fixture
def aws() -> Iterator[dict[str, str]]:
    """Moto with the template's table, job queues and secrets; returns logical id -> physical id."""
    with template_resources() as resources:
        yield resources


def test_every_event_file_maps_to_a_function() -> None:
    template = load_template()
    assert EVENT_FILES, "events/ is empty"
    for path in EVENT_FILES:
        function_for_event(template, json.loads(path.read_text(encoding="utf-8")))


def _invoke(name: str, aws: dict[str, str], tiny_artifact: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``sam local invoke`` in-process: the template's function for ``events/<name>``, its env, its handler."""
    return invoke_event(load_event(name), aws, tiny_artifact, monkeypatch)


def _json_body(result: dict[str, Any]) -> Any:
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        raw = base64.b64decode(body)
        body = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return json.loads(body)


def _template_niches() -> list[Topic]:
    niches = str(load_template()["Parameters"]["Niches"]["Default"])
    return [normalize_topic(niche) for niche in niches.split(",")]


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_event_runs_through_its_real_handler(
    path: Path, aws: dict[str, str], tiny_artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every sample event succeeds through its handler (offline: no scrape source, no LLM key)."""
    if path.name in PRECONDITIONS:
        _invoke(PRECONDITIONS[path.name], aws, tiny_artifact, monkeypatch)
    event = load_event(path.name)

    result = _invoke(path.name, aws, tiny_artifact, monkeypatch)

    assert isinstance(result, dict), result
    if "httpMethod" in event:
        status = int(result["statusCode"])
        assert 200 <= status < 300, f"{path.name} -> {status}: {result.get('body')}"
        body = _json_body(result)
        if path.name == "scrape_job_status.json":
            assert body["job_id"] == event["pathParameters"]["job_id"]
            assert (body["trigger"], body["topic"]) == ("schedule", "cooking hacks")
    elif "Records" in event:
        assert result == {"batchItemFailures": []}, result
    elif "task" in event:  # the re-snapshot schedule: nothing tracked yet, nothing due, nothing spent
        assert result == {"due": 0, "taken": 0, "missed": 0, "gone": 0, "quota_units": 0, "errors": []}, result
    else:  # the schedule: two jobs per niche (top, fresh), each recorded and enqueued for the queue's consumer
        niches = _template_niches()
        assert [job["job_id"] for job in result["jobs"]] == [
            scheduled_job_id(event["time"], n, c) for n in niches for c in Cohort
        ]
        store = shared.store()
        for job in result["jobs"]:
            recorded = store.get_job(job["job_id"])
            assert recorded is not None
            assert recorded.trigger == "schedule"
            assert recorded.status.value == job["status"] == "queued"
