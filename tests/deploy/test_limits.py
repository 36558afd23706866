"""template.yaml: concurrency, no blanket table policy, failure destinations, alarms, access logs and
API Gateway's own error answers (the one error shape). Each function's exact permissions: test_permissions.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.localstack import gateway
from miles_core.api.errors import ErrorResponse
from miles_core.api.exception_handlers import UNHANDLED_ERROR_METRIC
from tests.support.template import api_routes, functions


def test_no_crud_policy_template(template: dict[str, Any]) -> None:
    for logical_id, spec in functions(template).items():
        for policy in spec.properties.get("Policies", []):
            assert "DynamoDBCrudPolicy" not in policy, logical_id


def test_every_function_reserves_concurrency_when_enabled(template: dict[str, Any]) -> None:
    for logical_id, spec in functions(template).items():
        reserved = spec.properties["ReservedConcurrentExecutions"]
        condition, value, otherwise = reserved["Fn::If"]
        assert condition == "ReservesConcurrency", logical_id
        assert isinstance(value, int), logical_id
        assert value >= 1, logical_id
        assert otherwise == {"Ref": "AWS::NoValue"}, logical_id


def test_reserved_recommend_concurrency_covers_its_throttle(template: dict[str, Any]) -> None:
    """Throttled rps x the function timeout must fit in what it reserves, or callers get throttled 5xx."""
    api = template["Resources"]["MilesApi"]["Properties"]
    (setting,) = (m for m in api["MethodSettings"] if m["ResourcePath"] == "/~1recommendations")
    recommend = functions(template)["RecommendFunction"].properties
    reserved = recommend["ReservedConcurrentExecutions"]["Fn::If"][1]
    assert setting["ThrottlingRateLimit"] * recommend["Timeout"] <= reserved


def test_method_settings_name_real_routes_in_the_escaped_form(template: dict[str, Any]) -> None:
    """A MethodSetting's ResourcePath is ``/`` followed by the resource path with every slash written ``~1``
    (``/recommendations`` -> ``/~1recommendations``); an unescaped or unknown path throttles nothing.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-apigateway-stage-methodsetting.html"""
    routes = {(route.method.upper(), route.path) for route in api_routes(template)}
    for setting in template["Resources"]["MilesApi"]["Properties"]["MethodSettings"]:
        path = setting["ResourcePath"]
        if (path, setting["HttpMethod"]) == ("/*", "*"):
            continue  # the documented wildcard: every method of every resource
        assert path.startswith("/"), path
        assert "/" not in path[1:], f"{path}: write the resource path's slashes as ~1"
        decoded = path[1:].replace("~1", "/")
        assert (setting["HttpMethod"], decoded) in routes, f"{path} {setting['HttpMethod']} is no route"


def test_worker_async_failures_have_a_destination(template: dict[str, Any]) -> None:
    config = functions(template)["ScrapeWorkerFunction"].properties["EventInvokeConfig"]
    destination = config["DestinationConfig"]["OnFailure"]
    assert destination["Type"] == "SQS"
    assert destination["Destination"]["Fn::GetAtt"][0] in template["Resources"]


def test_the_worker_consumes_the_scrape_job_dlq(template: dict[str, Any]) -> None:
    """Dead-lettered job messages mark their jobs failed: the DLQ is a worker event source."""
    worker = functions(template)["ScrapeWorkerFunction"]
    queues = {e["Properties"]["Queue"]["Fn::GetAtt"][0] for e in worker.events.values() if e["Type"] == "SQS"}
    assert queues == {"ScrapeJobQueue", "ScrapeJobDLQ"}
    assert worker.environment["MILES_SCRAPE_DLQ_ARN"] == {"Fn::GetAtt": ["ScrapeJobDLQ", "Arn"]}
    redrive = template["Resources"]["ScrapeJobQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["ScrapeJobDLQ", "Arn"]}


def test_every_api_500_reaches_an_alarm(template: dict[str, Any]) -> None:
    """An API answers its 500s (Lambda's Errors never counts them) and counts each as a Powertools metric in its
    service's dimension: one alarm must watch that metric for every API function's service and namespace."""
    namespace = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    services = set()
    for spec in functions(template).values():
        if any(event["Type"] == "Api" for event in spec.events.values()):
            (service,) = re.findall(r'build_observability\("([\w-]+)"\)', spec.handler_file.read_text(encoding="utf-8"))
            services.add(service)
    watched = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm" or "Metrics" not in resource["Properties"]:
            continue
        assert resource["Properties"]["AlarmActions"], "an alarm nobody hears"
        for query in resource["Properties"]["Metrics"]:
            metric = query.get("MetricStat", {}).get("Metric", {})
            if (metric.get("Namespace"), metric.get("MetricName")) == (namespace, UNHANDLED_ERROR_METRIC):
                watched |= {d["Value"] for d in metric["Dimensions"] if d["Name"] == "service"}
    assert watched == services


def _alarm_metrics(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    metrics: dict[str, list[dict[str, Any]]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::Alarm" and "MetricName" in resource["Properties"]:
            metrics.setdefault(resource["Properties"]["MetricName"], []).append(resource["Properties"])
    return metrics


def test_backlog_alarms(template: dict[str, Any]) -> None:
    metrics = _alarm_metrics(template)
    (iterator_age,) = metrics["IteratorAge"]
    assert iterator_age["Dimensions"][0]["Value"] == {"Ref": "ScorerFunction"}
    (queue_age,) = metrics["ApproximateAgeOfOldestMessage"]
    assert queue_age["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ScrapeJobQueue", "QueueName"]}


def test_access_log_names_the_key_and_the_request(template: dict[str, Any]) -> None:
    setting = template["Resources"]["MilesApi"]["Properties"]["AccessLogSetting"]
    line = json.loads(setting["Format"])
    assert line["request_id"] == "$context.requestId"
    assert line["api_key_id"] == "$context.identity.apiKeyId"
    assert {"status", "latency_ms", "path", "method"} <= set(line)
    group = setting["DestinationArn"]["Fn::GetAtt"][0]
    assert "RetentionInDays" in template["Resources"][group]["Properties"]


def _render(body: str) -> Any:
    """A gateway response template with its $context variables filled in as API Gateway would."""
    body = body.replace("$context.error.messageString", '"Forbidden"')
    return json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", body))


def test_gateway_answers_use_the_one_error_shape(template: dict[str, Any]) -> None:
    responses = template["Resources"]["MilesApi"]["Properties"]["GatewayResponses"]
    expected_status = {
        "MISSING_AUTHENTICATION_TOKEN": 404,
        "INVALID_API_KEY": 403,
        "THROTTLED": 429,
        "QUOTA_EXCEEDED": 429,
        "REQUEST_TOO_LARGE": 413,
        "UNSUPPORTED_MEDIA_TYPE": 415,
    }
    assert set(expected_status) | {"DEFAULT_4XX", "DEFAULT_5XX"} == set(responses)
    for kind, response in responses.items():
        body = _render(response["ResponseTemplates"]["application/json"])
        ErrorResponse.model_validate(body)
        assert body["request_id"] == "x", kind
        if kind in expected_status:
            assert response["StatusCode"] == expected_status[kind], kind


@pytest.mark.parametrize(
    ("kind", "answer", "method", "path"),
    [
        ("MISSING_AUTHENTICATION_TOKEN", gateway.no_route("GET", "/nope"), "GET", "/nope"),
        ("INVALID_API_KEY", gateway.invalid_api_key(), "POST", "/predict"),
        ("REQUEST_TOO_LARGE", gateway.request_too_large(), "POST", "/predict"),
    ],
)
def test_local_stack_answers_like_the_gateway_responses(
    template: dict[str, Any], kind: str, answer: gateway.GatewayAnswer, method: str, path: str
) -> None:
    """`make run` answers API Gateway's own errors with the very bodies the template maps them to."""
    response = template["Resources"]["MilesApi"]["Properties"]["GatewayResponses"][kind]
    status, _, raw = answer
    body = json.loads(raw)
    rendered = response["ResponseTemplates"]["application/json"]
    rendered = rendered.replace("$context.httpMethod", method).replace("$context.path", path)
    expected = json.loads(rendered.replace("$context.requestId", body["request_id"]))
    assert (status, body) == (response["StatusCode"], expected)
