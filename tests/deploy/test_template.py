"""template.yaml against the code: table layout, routes and API keys, env vars, IAM, logs and alarms."""

from __future__ import annotations

from typing import Any

import pytest

from miles_core.store import keys, schema
from tests.support.code_reading import all_env_reads
from tests.support.template import ApiRoute, api_routes, function_env_reads, functions, template_miles_env

# Handler contract of ARCHITECTURE.md ("Handlers (file: callable)").
EXPECTED_HANDLERS = {
    "PredictFunction": ("functions/predict/app.py", "handler"),
    "PublicFunction": ("functions/predict/app.py", "handler"),
    "ScorerFunction": ("functions/predict/scorer.py", "handler"),
    "ScrapeApiFunction": ("functions/scrape/app.py", "handler"),
    "ScrapeWorkerFunction": ("functions/scrape/worker.py", "handler"),
    "RecommendFunction": ("functions/recommend/app.py", "handler"),
}
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("GET", "/"),  # the creator page asks for the key itself
    ("GET", "/static/{name}"),
}

# Variables the code reads that are deliberately not set in AWS.
LOCAL_ONLY_ENV = {"MILES_API_KEY": "the local stack's API key; API Gateway checks keys in AWS"}
# Reachable by import from a function's handler but never used by it (module-level reachability
# over-approximates). Each entry says why; an entry that stops being true fails the test.
NOT_NEEDED_ENV: dict[str, dict[str, str]] = {
    "PublicFunction": dict.fromkeys(
        ("MILES_RETENTION_DAYS", "MILES_TABLE_NAME"),
        "the predict app's one table route, GET /model/accuracy, is keyed: API Gateway sends it to PredictFunction",
    ),
    "ScrapeApiFunction": dict.fromkeys(
        (
            "MILES_NICHES",
            "MILES_SCRAPE_SOURCES",
            "MILES_YOUTUBE_QUOTA_BUDGET",
            "MILES_YOUTUBE_SECRET_ID",
            "MILES_YTDLP_SECRET_ID",
        ),
        "the API only enqueues jobs; sources and their secrets run in the worker",
    ),
}

# IAM statements allowed to use Resource "*" (AWS offers no narrower resource for these actions).
WILDCARD_ACTIONS_ALLOWED = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "cloudwatch:PutMetricData": "CloudWatch metrics have no resource-level permissions (namespace condition only)",
}
# AWS-managed policies SAM attaches itself; their "*" is AWS's, not ours.
MANAGED_POLICIES_ALLOWED = {
    "AWSLambdaBasicExecutionRole": "logs:CreateLogGroup/Stream, PutLogEvents; attached to every SAM function",
    "AWSXrayWriteOnlyAccess": "Tracing: Active; X-Ray has no resource-level permissions",
    "AWSLambdaDynamoDBExecutionRole": "DynamoDB stream event source (scorer): SAM attaches it for the mapping",
    "AWSLambdaSQSQueueExecutionRole": "SQS event source (worker): SAM attaches it for the mapping",
    "AmazonAPIGatewayPushToCloudWatchLogs": "API Gateway's account-wide role that writes the API access logs",
}


# --------------------------------------------------------------------------------------------- table
def _sorted(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: str(item[key]))


def test_table_equals_schema(template: dict[str, Any]) -> None:
    table = template["Resources"]["Table"]["Properties"]
    expected = schema.table_definition("ignored")
    assert table["BillingMode"] == expected["BillingMode"] == "PAY_PER_REQUEST"
    assert _sorted(table["AttributeDefinitions"], "AttributeName") == _sorted(
        expected["AttributeDefinitions"], "AttributeName"
    )
    assert table["KeySchema"] == expected["KeySchema"]
    assert _sorted(table["GlobalSecondaryIndexes"], "IndexName") == _sorted(
        expected["GlobalSecondaryIndexes"], "IndexName"
    )
    assert table["StreamSpecification"]["StreamViewType"] == expected["StreamSpecification"]["StreamViewType"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_scorer_stream_filter_selects_video_items(template: dict[str, Any]) -> None:
    import json

    event = functions(template)["ScorerFunction"].events["VideoStream"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "OnFailure" in event["DestinationConfig"]
    (pattern,) = (json.loads(f["Pattern"]) for f in event["FilterCriteria"]["Filters"])
    selected = pattern["dynamodb"]["Keys"]
    assert selected[schema.SORT_KEY] == {"S": [keys.VIDEO_SORT_KEY]}
    assert selected[schema.PARTITION_KEY] == {"S": [{"prefix": keys.VIDEO_PREFIX}]}


# --------------------------------------------------------------------------------------------- handlers/routes
def test_functions_match_the_handler_contract(template: dict[str, Any]) -> None:
    found = {
        logical_id: (str(spec.handler_file.relative_to(spec.dockerfile.parents[2])), spec.handler.rsplit(".", 1)[1])
        for logical_id, spec in functions(template).items()
    }
    assert found == EXPECTED_HANDLERS


def test_api_routes_equal_the_local_route_table(template: dict[str, Any]) -> None:
    from infra.localstack.routes import ROUTES

    code_side = {ApiRoute(r.method, r.path, r.target.function, r.target.handler, r.api_key_required) for r in ROUTES}
    assert api_routes(template) == code_side


def test_the_local_stack_finds_every_function_by_the_templates_handler_string(template: dict[str, Any]) -> None:
    """Routes and event-source workers name (folder, handler) exactly as the template's functions do."""
    from infra.localstack import handlers
    from infra.localstack.routes import ROUTES

    declared = {(spec.folder, spec.handler) for spec in functions(template).values()}
    hosted = {(r.target.function, r.target.handler) for r in ROUTES} | {
        (ref.function, ref.handler) for ref in (handlers.SCORER, handlers.SCRAPE_WORKER)
    }
    assert hosted == declared


def test_the_local_job_queues_are_the_templates(template: dict[str, Any]) -> None:
    """make run's queues retry, dead-letter and run jobs as deployed: visibility, redrive, mappings' concurrency."""
    from infra.localstack import workers

    resources = template["Resources"]
    jobs, dead_letters = resources["ScrapeJobQueue"]["Properties"], resources["ScrapeJobDLQ"]["Properties"]
    assert jobs["VisibilityTimeout"] == dead_letters["VisibilityTimeout"] == workers.QUEUE_VISIBILITY_S
    assert jobs["RedrivePolicy"]["maxReceiveCount"] == workers.MAX_RECEIVE_COUNT
    events = resources["ScrapeWorkerFunction"]["Properties"]["Events"]
    for name in ("Jobs", "DeadLetters"):
        assert events[name]["Properties"]["ScalingConfig"]["MaximumConcurrency"] == workers.JOB_CONSUMERS
    assert events["Jobs"]["Properties"]["BatchSize"] == 1


def test_translated_api_requires_a_key_on_every_route_but_the_public_ones(
    translated_template: dict[str, Any],
) -> None:
    (api,) = (r for r in translated_template["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi")
    checked = set()
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, operation in methods.items():
            route = (method.upper(), path)
            keyed = any("api_key" in requirement for requirement in operation.get("security", []))
            assert keyed == (route not in PUBLIC_ROUTES), route
            checked.add(route)
    assert checked >= PUBLIC_ROUTES
    plans = [r for r in translated_template["Resources"].values() if r["Type"] == "AWS::ApiGateway::UsagePlan"]
    assert len(plans) == 1
    assert {"Throttle", "Quota"} <= set(plans[0]["Properties"])


def test_keyless_routes_cannot_starve_keyed_ones(template: dict[str, Any]) -> None:
    """Anonymous callers have no usage plan: the keyless routes run in functions that serve no keyed route and
    reserve concurrency of their own, so a flood of them is throttled there and never takes a keyed function's
    reserved executions."""
    serving: dict[str, set[bool]] = {}
    for logical_id, spec in functions(template).items():
        for event in spec.events.values():
            if event["Type"] == "Api":
                route = (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
                serving.setdefault(logical_id, set()).add(route in PUBLIC_ROUTES)
    shared = [logical_id for logical_id, kinds in serving.items() if kinds == {True, False}]
    assert not shared, f"{shared} serve keyless and keyed routes from one pool of executions"
    for logical_id in serving:
        reserved = functions(template)[logical_id].properties["ReservedConcurrentExecutions"]["Fn::If"][1]
        assert isinstance(reserved, int), logical_id
        assert reserved >= 1, logical_id


def test_no_wildcard_cors(template: dict[str, Any]) -> None:
    for resource in template["Resources"].values():
        cors = resource.get("Properties", {}).get("Cors")
        if cors is None:
            continue
        origin = cors if isinstance(cors, str) else cors.get("AllowOrigin", "")
        credentials = isinstance(cors, dict) and cors.get("AllowCredentials") is True
        assert not ("*" in str(origin) and credentials), "wildcard CORS origin with credentials"


# --------------------------------------------------------------------------------------------- env vars
@pytest.mark.parametrize("logical_id", sorted(EXPECTED_HANDLERS))
def test_every_env_var_the_function_reads_is_set(template: dict[str, Any], logical_id: str) -> None:
    spec = functions(template)[logical_id]
    reads = function_env_reads(spec)
    allowed = NOT_NEEDED_ENV.get(logical_id, {})
    missing = reads - template_miles_env(spec) - set(allowed) - set(LOCAL_ONLY_ENV)
    assert not missing, f"{logical_id} reads {sorted(missing)} but the template does not set them"
    stale = set(allowed) - (reads - template_miles_env(spec))
    assert not stale, f"NOT_NEEDED_ENV[{logical_id}] lists {sorted(stale)}, no longer read-but-unset: remove"


@pytest.mark.parametrize("logical_id", sorted(EXPECTED_HANDLERS))
def test_every_env_var_the_template_sets_is_read(template: dict[str, Any], logical_id: str) -> None:
    spec = functions(template)[logical_id]
    unread = template_miles_env(spec) - function_env_reads(spec)
    assert not unread, f"{logical_id}: template sets {sorted(unread)} but no code reachable from its handler reads them"


def test_every_env_var_in_the_code_is_deployed_somewhere(template: dict[str, Any]) -> None:
    deployed = set().union(*(template_miles_env(spec) for spec in functions(template).values()))
    undeployed = set(all_env_reads()) - deployed - set(LOCAL_ONLY_ENV)
    assert not undeployed, f"read by code, set by no function: {sorted(undeployed)}"


def test_no_function_gets_an_api_key_in_its_environment(template: dict[str, Any]) -> None:
    """``OPENAI_API_KEY`` is the local convention only; in AWS the key lives in Secrets Manager."""
    for spec in functions(template).values():
        keys = [name for name in spec.environment if "API_KEY" in name or name.startswith("OPENAI_")]
        assert not keys, f"{spec.logical_id} sets {keys} in its environment: name a secret (*_SECRET_ID) instead"


def test_secrets_reach_functions_only_as_ids(template: dict[str, Any]) -> None:
    for spec in functions(template).values():
        for name, value in spec.environment.items():
            if name.endswith("_SECRET_ID"):
                assert isinstance(value, dict), f"{spec.logical_id}.{name} must be !Ref"
                assert set(value) == {"Ref"}, f"{spec.logical_id}.{name} must be !Ref"
                assert template["Resources"][value["Ref"]]["Type"] == "AWS::SecretsManager::Secret"
            assert "KEY" not in name or name.endswith("_ID"), f"{spec.logical_id}: {name} looks like a secret value"


# --------------------------------------------------------------------------------------------- IAM
def _statements(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "Statement" in node and isinstance(node["Statement"], list):
            found += [s for s in node["Statement"] if isinstance(s, dict)]
        for value in node.values():
            found += _statements(value)
    elif isinstance(node, list):
        for value in node:
            found += _statements(value)
    return found


def _wildcard_violations(template: dict[str, Any]) -> list[str]:
    problems = []
    for statement in _statements(template.get("Resources", {})):
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if "*" not in resources:
            continue
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if not set(actions) <= set(WILDCARD_ACTIONS_ALLOWED):
            problems.append(f"Resource '*' for {actions}")
    return problems


def test_no_iam_statement_has_wildcard_resource(template: dict[str, Any], translated_template: dict[str, Any]) -> None:
    assert _wildcard_violations(template) == []
    assert _wildcard_violations(translated_template) == []


def test_wildcard_check_can_fail() -> None:
    bad = {"Resources": {"R": {"Properties": {"Policies": [{"Statement": [{"Action": "s3:*", "Resource": "*"}]}]}}}}
    assert _wildcard_violations(bad) == ["Resource '*' for ['s3:*']"]


def test_only_allow_listed_managed_policies(translated_template: dict[str, Any]) -> None:
    for logical_id, resource in translated_template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for arn in resource["Properties"].get("ManagedPolicyArns", []):
            text = arn["Fn::Sub"] if isinstance(arn, dict) else str(arn)
            name = text.rsplit("/", 1)[-1]
            assert name in MANAGED_POLICIES_ALLOWED, f"{logical_id} attaches {arn}"


def test_each_function_has_its_own_role(translated_template: dict[str, Any]) -> None:
    roles = [
        r["Properties"]["Role"]
        for r in translated_template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    assert len(roles) == len(EXPECTED_HANDLERS)
    assert len({str(role) for role in roles}) == len(roles)


# --------------------------------------------------------------------------------------------- logs, alarms
def test_every_function_logs_to_a_group_with_retention(template: dict[str, Any]) -> None:
    for spec in functions(template).values():
        group = spec.properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert "RetentionInDays" in template["Resources"][group]["Properties"], group


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Single-metric alarms (the metric-math one over UnhandledError is checked in test_limits.py)."""
    return [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and "MetricName" in r["Properties"]
    ]


def test_alarms_cover_errors_throttles_dlqs_and_latency(template: dict[str, Any]) -> None:
    alarms = _alarms(template)
    errors = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms if a["MetricName"] == "Errors"}
    assert errors == set(EXPECTED_HANDLERS)
    assert any(a["MetricName"] == "Throttles" for a in alarms)
    queues = {
        name
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" not in r.get("Properties", {})
    }
    consumed = {
        event["Properties"]["Queue"]["Fn::GetAtt"][0]
        for spec in functions(template).values()
        for event in spec.events.values()
        if event["Type"] == "SQS"
    }
    # A dead-letter queue a function consumes (the scrape-job DLQ: its jobs are marked failed) is
    # watched by its receives; one nobody consumes by its depth.
    watched = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms
        if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
        or (a["MetricName"] == "NumberOfMessagesReceived" and a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] in consumed)
    }
    assert queues == watched, "every dead-letter queue needs an alarm"
    assert any(a["MetricName"] == "Latency" and a.get("ExtendedStatistic") == "p99" for a in alarms)
