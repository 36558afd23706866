"""Each function's IAM policy is exactly what its code calls: proven by recording the calls, not by a list.

Every ``events/`` sample (and the variants below, for the paths a sample does not reach) runs through
its template-wired handler in a cold container against moto, while every AWS API call is recorded
(``tests/support/aws_calls.py``). Each call becomes the IAM requests it needs and is checked against
that function's policies in the SAM-translated template (``tests/support/iam.py``): a call no policy
allows fails (AWS would deny it; moto does not enforce IAM), and so does a granted action no call uses.
"""

from __future__ import annotations

import base64
import copy
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yt_dlp

from tests.support import permission_guard
from tests.support.aws_calls import AwsCall, iam_requests, record_aws_calls
from tests.support.events import EVENTS_DIR, load_event
from tests.support.iam import Grant, code_grants, logical_request, permission_problems
from tests.support.template import functions, load_template
from tests.support.template_invoke import function_for_event, invoke_event, template_resources

Used = dict[str, set[tuple[str, str]]]
"""Function logical id -> the (action, logical resource) pairs its code was seen to need."""

ORDER = ["scrape_schedule.json", "score_stream.json", "recommendations_cooking_hacks.json"]
"""Samples that create what others read run first, in this order: the status sample asks for the schedule's
job; the stream sample's scores put its videos on the "cooking hacks" leaderboard, so that topic's
recommendation has relevant candidates and reads their snapshots (the inspired-by numbers)."""


def _sample_events() -> list[dict[str, Any]]:
    names = [*ORDER, *(p.name for p in sorted(EVENTS_DIR.glob("*.json")) if p.name not in ORDER)]
    return [load_event(name) for name in names]


def _store_stream_items(event: dict[str, Any], resources: dict[str, str]) -> None:
    """The items a stream sample's records describe exist in the table (the writes that emitted them)."""
    for record in event["Records"]:
        boto3.client("dynamodb").put_item(TableName=resources["Table"], Item=record["dynamodb"]["NewImage"])


def _stored_first(event: dict[str, Any]) -> Callable[[dict[str, str]], None] | None:
    """For a DynamoDB stream sample, the step that stores the items it describes; None for the others."""
    records = event.get("Records") or [{}]
    if "dynamodb" not in records[0]:
        return None
    return lambda resources: _store_stream_items(event, resources)


def _with_body(name: str, body: dict[str, Any]) -> dict[str, Any]:
    event = load_event(name)
    event["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    return event


def _from_the_dlq(resources: dict[str, str]) -> dict[str, Any]:
    event = load_event("scrape_job_sqs.json")
    for record in event["Records"]:
        record["eventSourceARN"] = resources["ScrapeJobDLQ.Arn"]
    return event


class _OfflineYoutubeDL:
    """yt-dlp with no network: every extraction fails the way an unreachable YouTube does."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def __enter__(self) -> _OfflineYoutubeDL:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def extract_info(self, url: str, download: bool = True) -> Any:
        raise yt_dlp.utils.DownloadError(f"offline: {url}")


def _queue_gone(resources: dict[str, str]) -> None:
    boto3.client("sqs").delete_queue(QueueUrl=resources["ScrapeJobQueue"])


Step = tuple[dict[str, Any], bool, Callable[[dict[str, str]], None] | None]
"""An event, whether the worker keeps the template's source chain, and what to break before it runs."""


def _variants(resources: dict[str, str]) -> list[Step]:
    """Events for paths no sample reaches, each a path the deployed functions take."""
    return [
        # A second cold scorer container finds the model version registered and reads when (GetItem).
        (load_event("score_stream.json"), False, None),
        # The worker with the template's source chain: secrets read, network sources failing, the catalog.
        (load_event("scrape_job_sqs.json"), True, None),
        # A dead-lettered job message: the job is marked failed.
        (_from_the_dlq(resources), False, None),
        # The queue refuses: the job the API or a recommendation recorded is marked failed.
        (_with_body("scrape_job_request.json", {"topic": "sourdough"}), False, _queue_gone),
        (_with_body("recommendations.json", {"topic": "sourdough bread"}), False, None),
    ]


@pytest.fixture(scope="module")
def used(tiny_artifact: Path) -> Iterator[Used]:
    """Run every sample and variant, recording the (action, resource) pairs each function needed."""
    template = load_template()
    with pytest.MonkeyPatch.context() as monkeypatch:
        # module scope: the conftest's per-test fake credentials are not set up yet
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.setenv(variable, "testing")
        for variable in ("AWS_DEFAULT_REGION", "AWS_REGION"):
            monkeypatch.setenv(variable, "us-east-1")
        with template_resources() as resources:
            yield _record(template, resources, tiny_artifact, monkeypatch)


def _record(
    template: dict[str, Any], resources: dict[str, str], model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Used:
    found: Used = defaultdict(set)
    physical_to_logical = {value: key for key, value in resources.items() if "." not in key}
    monkeypatch.setattr(yt_dlp, "YoutubeDL", _OfflineYoutubeDL)
    steps: list[Step] = [(event, False, _stored_first(event)) for event in _sample_events()]
    for event, template_sources, before in [*steps, *_variants(resources)]:
        if before is not None:
            before(resources)
        function = function_for_event(template, event).logical_id
        with record_aws_calls() as calls:
            invoke_event(event, resources, model_dir, monkeypatch, template_sources=template_sources)
        for call in calls:
            for request in iam_requests(call):
                found[function].add(logical_request(request, physical_to_logical))
    return found


FUNCTIONS = sorted(functions(load_template()))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_policy_is_exactly_what_the_code_calls(translated_template: dict[str, Any], used: Used, function: str) -> None:
    """No call AWS would deny, no action granted that no call uses."""
    calls = used.get(function, set())
    problems = permission_problems(code_grants(translated_template, function), calls)
    assert not problems, f"{function}: {problems}\nrecorded: {sorted(used.get(function, set()))}"


def _without_action(translated: dict[str, Any], function: str, action: str) -> dict[str, Any]:
    """A copy of the translated template whose ``function`` policies no longer grant ``action``."""
    broken = copy.deepcopy(translated)
    role = broken["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    for policy in broken["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in listed if a != action]
    return broken


def test_removing_an_action_the_scorer_uses_is_reported(translated_template: dict[str, Any], used: Used) -> None:
    """The scorer registers its model version with a PutItem: a policy without it is reported as denying it."""
    broken = _without_action(translated_template, "ScorerFunction", "dynamodb:PutItem")
    problems = permission_problems(code_grants(broken, "ScorerFunction"), used["ScorerFunction"])
    assert problems == ["denied: dynamodb:PutItem on Table"]


def test_granting_an_action_no_call_uses_is_reported(translated_template: dict[str, Any], used: Used) -> None:
    broken = copy.deepcopy(translated_template)
    role = broken["Resources"]["ScorerFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = (p for p in broken["Resources"][role]["Properties"]["Policies"] if p["PolicyName"].endswith("Policy0"))
    policy["PolicyDocument"]["Statement"][0]["Action"].append("dynamodb:DeleteItem")
    problems = permission_problems(code_grants(broken, "ScorerFunction"), used["ScorerFunction"])
    assert problems == ["unused: dynamodb:DeleteItem on Table (ScorerFunctionRolePolicy0)"]


def test_a_call_on_another_resource_than_granted_is_reported() -> None:
    """Actions are granted per resource: a Query on the base table is not allowed by a Query grant on the index."""
    grants = [Grant("P", "dynamodb:Query", "Table/index/GSI1")]
    assert permission_problems(grants, {("dynamodb:Query", "Table")}) == [
        "denied: dynamodb:Query on Table",
        "unused: dynamodb:Query on Table/index/GSI1 (P)",
    ]


def test_a_transaction_needs_the_action_of_each_part() -> None:
    call = AwsCall(
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Update": {"TableName": "t"}},
                {"Put": {"TableName": "t"}},
                {"ConditionCheck": {"TableName": "t"}},
                {"Delete": {"TableName": "t"}},
            ]
        },
    )
    assert [r.action for r in iam_requests(call)] == [
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
    ]


def test_the_guard_fails_a_test_whose_handler_calls_a_denied_action(
    translated_template: dict[str, Any], tiny_artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test runs under ``guard_handler_calls`` (tests/conftest.py): with the scorer's PutItem removed from
    its policy, running its sample event inside the guard is reported."""
    broken = _without_action(translated_template, "ScorerFunction", "dynamodb:PutItem")
    denied = pytest.raises(AssertionError, match="ScorerFunction: dynamodb:PutItem")
    with template_resources("guarded") as resources, denied, permission_guard.guard_handler_calls(broken):
        invoke_event(load_event("score_stream.json"), resources, tiny_artifact, monkeypatch)
