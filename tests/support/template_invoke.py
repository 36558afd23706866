"""``sam local invoke`` in-process: the template's function for an event, its environment, its handler.

The function an event runs in comes from the template's triggers (not from a list); its environment
is the template's (parameters at their defaults, resources created in moto by
:func:`template_resources`); the handler is imported from its file as Lambda imports it from the task
root, freshly per invocation, so module-level state starts cold.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from miles_core.scraping import runtime
from miles_core.secrets import clear_secret_cache
from miles_core.store import schema
from tests.support.code_reading import import_handler
from tests.support.events import LocalLambdaContext
from tests.support.template import FunctionSpec, functions, load_template

_counter = itertools.count()


def function_for_event(template: dict[str, Any], event: dict[str, Any]) -> FunctionSpec:
    """The function the template wires this event's trigger to."""
    if "httpMethod" in event:
        kind, match = "Api", (event["httpMethod"].upper(), event["resource"])
    elif "task" in event:  # a schedule whose Input is this event
        kind, match = "Schedule", None
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
            if kind == "Schedule" and json.loads(props.get("Input", "null")) != (event if "task" in event else None):
                continue  # a schedule with an Input sends exactly that; one without sends EventBridge's event
            if match is None or (props["Method"].upper(), props["Path"]) == match:
                return spec
    raise AssertionError(f"no function in template.yaml is triggered by this {kind} event {match or ''}")


def resolve(value: Any, parameters: dict[str, Any], resources: dict[str, str]) -> str:
    """An environment value: a resource's physical id (``Ref``/``GetAtt``), else a parameter's default."""
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        if name in resources:
            return resources[name]
        return str(parameters[name].get("Default", ""))
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return resources[".".join(value["Fn::GetAtt"])]
    return str(value)


@contextmanager
def template_resources(prefix: str = "miles") -> Iterator[dict[str, str]]:
    """Moto with the template's table, job queues and secrets, named with ``prefix`` (distinct prefixes can
    share one moto backend); yields logical id (or ``Id.Attr``) -> physical."""
    with mock_aws():
        table_name = f"{prefix}-deploy-test"
        schema.create_table(boto3.client("dynamodb"), table_name)
        sqs = boto3.client("sqs")
        resources = {"Table": table_name}
        for logical_id in ("ScrapeJobQueue", "ScrapeJobDLQ"):
            url = sqs.create_queue(QueueName=f"{prefix}-{logical_id}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            resources |= {logical_id: url, f"{logical_id}.Arn": arn}
        secrets = boto3.client("secretsmanager")
        for logical_id, resource in load_template()["Resources"].items():
            if resource["Type"] == "AWS::SecretsManager::Secret":
                created = secrets.create_secret(
                    Name=f"{prefix}/test/{logical_id}", SecretString=resource["Properties"]["SecretString"]
                )
                resources[logical_id] = created["ARN"]
        yield resources


def reset_container_caches(*, template_sources: bool = False) -> None:
    """Per-container caches (scrape runtime, secrets); no scrape source unless ``template_sources``."""
    clear_secret_cache()
    runtime.reset()
    if not template_sources:
        runtime.set_sources([])


def invoke_event(
    event: dict[str, Any],
    resources: dict[str, str],
    model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    template_sources: bool = False,
) -> Any:
    """Run ``event`` through the template's function for it, in a cold container; returns the handler's result.

    Offline by default: the scrape worker gets no source. ``template_sources`` keeps the source chain the
    template configures; the caller then keeps its network sources offline.
    """
    template = load_template()
    spec = function_for_event(template, event)
    for variable, value in spec.environment.items():
        monkeypatch.setenv(variable, resolve(value, template["Parameters"], resources))
    monkeypatch.setenv("MILES_MODEL_DIR", str(model_dir))  # the image's /opt/miles/model
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    reset_container_caches(template_sources=template_sources)
    module, attribute = spec.handler.rsplit(".", 1)
    handler = import_handler(spec.handler_file, attribute, f"_miles_event_{module}_{next(_counter)}")
    # Lambda's context: the function's own Timeout left (the worker checks it to stop before its timeout).
    context = LocalLambdaContext.for_request(spec.logical_id, timeout_ms=int(spec.properties["Timeout"]) * 1000)
    return handler(event, context)
