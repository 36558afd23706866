"""AWS's own deploy rules over the SAM-translated template: what `sam validate --lint` and cfn-lint do not know.

Each rule is a function from the translated template to the problems it finds, and cites the AWS page it
comes from. Rules run on the real template (no problem allowed) and on known-bad shapes of it (each must
report), so a rule that can no longer fail is caught too.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

Template = dict[str, Any]
_INVOKED = re.compile(r"/functions/\$\{(\w+)\.Arn\}/invocations")
Rule = Callable[[Template], list[str]]

SQS_DEFAULT_VISIBILITY_S = 30
"""https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html"""
SQS_DEFAULT_RETENTION_S = 345_600
"""Four days: same page."""
REST_INTEGRATION_TIMEOUT_MAX_MS = 29_000
"""https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (REST: 50 ms - 29 s by default)."""
ACCOUNT_CONCURRENCY = 1000
UNRESERVED_MINIMUM = 100
"""https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html: the default account limit
is 1,000 and Lambda keeps at least 100 unreserved for functions without a reservation."""


def _resources(template: Template, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        if resource["Type"] == kind:
            yield name, resource.get("Properties", {})


def _target(value: Any) -> str | None:
    """The logical id an intrinsic (``Ref``/``Fn::GetAtt``) points at."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def _reserved(properties: dict[str, Any]) -> int | None:
    """Reserved concurrency; the template's ``Fn::If`` counts as reserving (its worst case)."""
    value = properties.get("ReservedConcurrentExecutions")
    if isinstance(value, dict) and "Fn::If" in value:
        value = value["Fn::If"][1]
    return value if isinstance(value, int) else None


def _sqs_mappings(template: Template) -> Iterator[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(mapping name, mapping, queue properties, function properties) for every SQS event source."""
    resources = template["Resources"]
    for name, mapping in _resources(template, "AWS::Lambda::EventSourceMapping"):
        source = _target(mapping["EventSourceArn"])
        if source is None or resources[source]["Type"] != "AWS::SQS::Queue":
            continue
        function = resources[_target(mapping["FunctionName"]) or ""]["Properties"]
        yield name, mapping, resources[source].get("Properties", {}), function


def sqs_visibility_outlasts_the_consumer(template: Template) -> list[str]:
    """Lambda refuses an SQS mapping whose queue visibility timeout is below the function timeout, and
    recommends at least six times the timeout plus the batching window, so retries of a throttled batch
    do not make messages visible again mid-run.
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"""
    problems = []
    for name, mapping, queue, function in _sqs_mappings(template):
        visibility = int(queue.get("VisibilityTimeout", SQS_DEFAULT_VISIBILITY_S))
        needed = 6 * int(function["Timeout"]) + int(mapping.get("MaximumBatchingWindowInSeconds", 0))
        if visibility < needed:
            problems.append(f"{name}: queue visibility {visibility} s < 6 x timeout + batching window = {needed} s")
    return problems


def dlq_retention_outlasts_its_source(template: Template) -> list[str]:
    """A message's expiry counts from its first enqueue, so a dead-letter queue must keep messages longer
    than its source queue does or they expire on arrival.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"""
    problems = []
    resources = template["Resources"]
    for name, queue in _resources(template, "AWS::SQS::Queue"):
        redrive = queue.get("RedrivePolicy")
        if not redrive:
            continue
        dlq = _target(redrive["deadLetterTargetArn"]) or ""
        source_retention = int(queue.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION_S))
        dlq_retention = int(resources[dlq]["Properties"].get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION_S))
        if dlq_retention <= source_retention:
            problems.append(f"{dlq} keeps messages {dlq_retention} s, not longer than {name}'s {source_retention} s")
    return problems


def _api_integrations(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(route, function logical id, integration) of every Lambda proxy integration in the REST API body."""
    for _, api in _resources(template, "AWS::ApiGateway::RestApi"):
        for path, methods in api.get("Body", {}).get("paths", {}).items():
            for method, operation in methods.items():
                integration = operation.get("x-amazon-apigateway-integration", {})
                uri = integration.get("uri", {})
                text = uri.get("Fn::Sub", "") if isinstance(uri, dict) else str(uri)
                function = _INVOKED.search(text)
                yield f"{method.upper()} {path}", function.group(1) if function else "", integration


def api_functions_answer_within_the_integration_timeout(template: Template) -> list[str]:
    """REST integrations time out after 29 s at most (``timeoutInMillis``, default 29,000): a function allowed
    to run longer answers a 504 while it keeps running and billing.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"""
    problems = []
    resources = template["Resources"]
    for route, function, integration in _api_integrations(template):
        limit = int(integration.get("timeoutInMillis", REST_INTEGRATION_TIMEOUT_MAX_MS))
        if limit > REST_INTEGRATION_TIMEOUT_MAX_MS:
            problems.append(f"{route}: integration timeout {limit} ms > {REST_INTEGRATION_TIMEOUT_MAX_MS} ms")
        timeout_ms = 1000 * int(resources[function]["Properties"]["Timeout"])
        if timeout_ms > limit:
            problems.append(f"{route}: {function} may run {timeout_ms} ms, the integration waits {limit} ms")
    return problems


def reserved_concurrency_leaves_the_unreserved_minimum(template: Template) -> list[str]:
    """Reservations may total at most the account limit minus the 100 Lambda keeps unreserved; a stack
    over it fails to create in a default account.
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"""
    total = sum(_reserved(p) or 0 for _, p in _resources(template, "AWS::Lambda::Function"))
    allowed = ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM
    return [f"reserved concurrency {total} > {allowed} (1,000 minus 100 unreserved)"] if total > allowed else []


def event_source_settings_fit(template: Template) -> list[str]:
    """Event source mapping settings within what Lambda accepts, and consistent with the function:
    - SQS: BatchSize over 10 needs a batching window of at least 1 s; the window is at most 300 s;
      MaximumConcurrency is 2-1,000 and the mappings' total must fit the function's reserved concurrency
      (else Lambda throttles the messages back onto the queue).
      https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html,
      https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
    - streams: BatchSize 1-10,000, window 0-300 s, ParallelizationFactor 1-10, MaximumRecordAgeInSeconds
      -1 or 60-604,800, MaximumRetryAttempts -1-10,000; a bounded record age and retry count with an
      on-failure destination, so a poison record neither blocks its shard nor vanishes unseen.
      https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html,
      https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html"""
    problems = []
    resources = template["Resources"]
    per_function: dict[str, int] = {}
    for name, mapping, _, _ in _sqs_mappings(template):
        batch, window = int(mapping.get("BatchSize", 10)), int(mapping.get("MaximumBatchingWindowInSeconds", 0))
        if batch > 10 and window < 1:
            problems.append(f"{name}: BatchSize {batch} > 10 needs MaximumBatchingWindowInSeconds >= 1")
        if window > 300:
            problems.append(f"{name}: batching window {window} s > 300 s")
        maximum = mapping.get("ScalingConfig", {}).get("MaximumConcurrency")
        if maximum is not None and not 2 <= int(maximum) <= 1000:
            problems.append(f"{name}: MaximumConcurrency {maximum} outside 2-1000")
        function = _target(mapping["FunctionName"]) or ""
        per_function[function] = per_function.get(function, 0) + int(maximum or 1000)
    for function, total in per_function.items():
        reserved = _reserved(resources[function]["Properties"])
        if reserved is not None and total > reserved:
            problems.append(f"{function}: SQS mappings may run {total} at once, {reserved} reserved")
    for name, mapping in _resources(template, "AWS::Lambda::EventSourceMapping"):
        source = _target(mapping["EventSourceArn"]) or ""
        if resources[source]["Type"] == "AWS::SQS::Queue":
            continue
        checks = {
            "BatchSize": (int(mapping.get("BatchSize", 100)), 1, 10_000),
            "MaximumBatchingWindowInSeconds": (int(mapping.get("MaximumBatchingWindowInSeconds", 0)), 0, 300),
            "ParallelizationFactor": (int(mapping.get("ParallelizationFactor", 1)), 1, 10),
            "MaximumRetryAttempts": (int(mapping.get("MaximumRetryAttempts", -1)), 0, 10_000),
            "MaximumRecordAgeInSeconds": (int(mapping.get("MaximumRecordAgeInSeconds", -1)), 60, 604_800),
        }
        for setting, (value, low, high) in checks.items():
            if not low <= value <= high:
                problems.append(f"{name}: {setting} {value} outside {low}-{high} (-1, unbounded, is not allowed here)")
        if not mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"):
            problems.append(f"{name}: no on-failure destination for records that exhaust their retries")
    return problems


def async_retries_fit(template: Template) -> list[str]:
    """Asynchronous invoke settings: MaximumRetryAttempts 0-2, MaximumEventAgeInSeconds 60-21,600.
    https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html"""
    problems = []
    for name, config in _resources(template, "AWS::Lambda::EventInvokeConfig"):
        retries, age = int(config.get("MaximumRetryAttempts", 2)), int(config.get("MaximumEventAgeInSeconds", 21_600))
        if not 0 <= retries <= 2:
            problems.append(f"{name}: MaximumRetryAttempts {retries} outside 0-2")
        if not 60 <= age <= 21_600:
            problems.append(f"{name}: MaximumEventAgeInSeconds {age} outside 60-21600")
    return problems


RULES: list[Rule] = [
    sqs_visibility_outlasts_the_consumer,
    dlq_retention_outlasts_its_source,
    api_functions_answer_within_the_integration_timeout,
    reserved_concurrency_leaves_the_unreserved_minimum,
    event_source_settings_fit,
    async_retries_fit,
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_the_template_keeps_the_rule(translated_template: Template, rule: Rule) -> None:
    assert rule(translated_template) == []


def _properties(template: Template, name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][name]["Properties"]
    return properties


def _old_dlq(t: Template) -> None:
    """The job DLQ as first shipped: SQS's default 30 s visibility, consumed by the 600 s worker."""
    _properties(t, "ScrapeJobDLQ").pop("VisibilityTimeout")


def _short_dlq_retention(t: Template) -> None:
    _properties(t, "ScrapeJobDLQ")["MessageRetentionPeriod"] = _properties(t, "ScrapeJobQueue")[
        "MessageRetentionPeriod"
    ]


def _slow_api_function(t: Template) -> None:
    _properties(t, "RecommendFunction")["Timeout"] = 30


def _greedy_reservation(t: Template) -> None:
    _properties(t, "PredictFunction")["ReservedConcurrentExecutions"] = 850


def _big_unwindowed_batch(t: Template) -> None:
    _properties(t, "ScrapeWorkerFunctionDeadLetters")["BatchSize"] = 50


def _unbounded_stream_retries(t: Template) -> None:
    _properties(t, "ScorerFunctionVideoStream")["MaximumRetryAttempts"] = -1


def _mappings_over_reservation(t: Template) -> None:
    _properties(t, "ScrapeWorkerFunction")["ReservedConcurrentExecutions"] = 3


def _too_many_async_retries(t: Template) -> None:
    _properties(t, "ScrapeWorkerFunctionEventInvokeConfig")["MaximumRetryAttempts"] = 3


@pytest.mark.parametrize(
    ("break_it", "rule", "reported"),
    [
        (_old_dlq, sqs_visibility_outlasts_the_consumer, "ScrapeWorkerFunctionDeadLetters: queue visibility 30 s"),
        (_short_dlq_retention, dlq_retention_outlasts_its_source, "ScrapeJobDLQ keeps messages"),
        (_slow_api_function, api_functions_answer_within_the_integration_timeout, "RecommendFunction may run 30000"),
        (_greedy_reservation, reserved_concurrency_leaves_the_unreserved_minimum, "reserved concurrency"),
        (_big_unwindowed_batch, event_source_settings_fit, "BatchSize 50 > 10"),
        (_unbounded_stream_retries, event_source_settings_fit, "MaximumRetryAttempts -1"),
        (_mappings_over_reservation, event_source_settings_fit, "may run 4 at once, 3 reserved"),
        (_too_many_async_retries, async_retries_fit, "MaximumRetryAttempts 3"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_each_rule_reports_a_template_that_breaks_it(
    translated_template: Template, break_it: Callable[[Template], None], rule: Rule, reported: str
) -> None:
    broken = copy.deepcopy(translated_template)
    break_it(broken)
    problems = rule(broken)
    assert any(reported in problem for problem in problems), problems
