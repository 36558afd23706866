"""Every events/*.json runs through the handler the template wires it to, in-process with moto.

The in-process equivalent of `sam local invoke <Function> -e events/<file>`: the function's
environment comes from the template (parameters at their defaults, resources created in moto), the
handler is imported from its file as Lambda imports it from the task root, and the model directory
is the tiny real artifact. The event-to-function mapping comes from the template, not from a list.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from miles_core.scraping import runtime
from miles_core.scraping.service import scheduled_job_id
from miles_core.secrets import clear_secret_cache
from miles_core.store import Cohort, schema
from miles_core.topics import normalize_topic
from tests.deploy.contract import FunctionSpec, functions, import_handler, load_template
from tests.support.events import EVENTS_DIR, LocalLambdaContext, load_event

EVENT_FILES = sorted(EVENTS_DIR.glob("*.json"))
PRECONDITIONS = {"scrape_job_status.json": "scrape_schedule.json"}
"""Events that need another event's effect first: the status event asks for the job the schedule creates."""
_counter = itertools.count()


def function_for_event(template: dict[str, Any], event: dict[str, Any]) -> FunctionSpec:
    """The function the template wires this event's trigger to."""
    if "httpMethod" in event:
        kind, match = "Api", (event["httpMethod"].upper(), event["resource"])
    else:
        records = event.get("Records") or [{}]
        source = records[0].get("eventSource") or event.get("source")
        kind = {"aws:sqs": "SQS", "aws:dynamodb": "DynamoDB", "aws.events": "Schedule"}.get(str(source), "?")
        match = None
    for spec in functions(template).values():
        for trigger in spec.events.values():
            if trigger["Type"] != kind:
                continue
            props = trigger["Properties"]
            if match is None or (props["Method"].upper(), props["Path"]) == match:
                return spec
    raise AssertionError(f"no function in template.yaml is triggered by this {kind} event {match or ''}")


def _resolve(value: Any, parameters: dict[str, Any], resources: dict[str, str]) -> str:
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        if name in resources:
            return resources[name]
        return str(parameters[name].get("Default", ""))
    return str(value)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Moto with the template's table, job queue and secrets; returns logical id -> physical id."""
    with mock_aws():
        table_name = "miles-deploy-test"
        schema.create_table(boto3.client("dynamodb"), table_name)
        queue_url = boto3.client("sqs").create_queue(QueueName="miles-jobs")["QueueUrl"]
        resources = {"Table": table_name, "ScrapeJobQueue": queue_url}
        secrets = boto3.client("secretsmanager")
        for logical_id, resource in load_template()["Resources"].items():
            if resource["Type"] == "AWS::SecretsManager::Secret":
                created = secrets.create_secret(
                    Name=f"miles/test/{logical_id}", SecretString=resource["Properties"]["SecretString"]
                )
                resources[logical_id] = created["ARN"]
        yield resources


def _reset_container_caches() -> None:
    """Per-container caches (scrape runtime, secrets); no network sources in this offline run."""
    clear_secret_cache()
    runtime.reset()
    runtime.set_sources([])


def test_every_event_file_maps_to_a_function() -> None:
    template = load_template()
    assert EVENT_FILES, "events/ is empty"
    for path in EVENT_FILES:
        function_for_event(template, json.loads(path.read_text(encoding="utf-8")))


def _invoke(name: str, aws: dict[str, str], tiny_artifact: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``sam local invoke`` in-process: the template's function for ``events/<name>``, its env, its handler."""
    template = load_template()
    event = load_event(name)
    spec = function_for_event(template, event)
    for variable, value in spec.environment.items():
        monkeypatch.setenv(variable, _resolve(value, template["Parameters"], aws))
    monkeypatch.setenv("MILES_MODEL_DIR", str(tiny_artifact))  # the image's /opt/miles/model
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    _reset_container_caches()
    module, attribute = spec.handler.rsplit(".", 1)
    handler = import_handler(spec.handler_file, attribute, f"_miles_event_{module}_{next(_counter)}")
    # Lambda's context: the function's own Timeout left (the worker checks it to stop before its timeout).
    context = LocalLambdaContext.for_request(spec.logical_id, timeout_ms=int(spec.properties["Timeout"]) * 1000)
    return handler(event, context)


def _json_body(result: dict[str, Any]) -> Any:
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        raw = base64.b64decode(body)
        body = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return json.loads(body)


def _template_niches() -> list[str]:
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
    else:  # the schedule: two jobs per niche (top, fresh), each recorded and enqueued for the queue's consumer
        niches = _template_niches()
        assert [job["job_id"] for job in result["jobs"]] == [
            scheduled_job_id(event["time"], n, c) for n in niches for c in Cohort
        ]
        store = runtime.store()
        for job in result["jobs"]:
            recorded = store.get_job(job["job_id"])
            assert recorded is not None
            assert recorded.trigger == "schedule"
            assert recorded.status.value == job["status"] == "queued"
