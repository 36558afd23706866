"""Record the AWS API calls code makes, and the IAM requests (action + resource) each one needs.

Every botocore client is created by ``botocore.session.Session.create_client`` (boto3's default session,
Powertools' parameter providers and moto's clients alike), so :func:`record_aws_calls` wraps that one
method and registers a ``before-parameter-build`` handler on each client it creates: the handler sees
the operation and the caller's own parameters before anything is serialized, which is what IAM
authorizes. Clients created before the recording starts are not seen: callers reset the per-container
caches first, as a cold Lambda container starts without them.

:func:`iam_requests` turns a call into what IAM checks. Most operations are their own action; a
transaction or batch is authorized per part (DynamoDB: "Using IAM with DynamoDB transactions",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.session

TRANSACT_WRITE_PARTS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
"""A TransactWriteItems part -> the DynamoDB action IAM checks for it."""
BATCH_WRITE_PARTS = {"PutRequest": "PutItem", "DeleteRequest": "DeleteItem"}
SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
"""SQS batch operations are authorized as their single-message action."""


@dataclass(frozen=True)
class AwsCall:
    """One API call as the code made it: ``service`` is the IAM prefix (the client's signing name)."""

    service: str
    operation: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class IamRequest:
    """What IAM authorizes: ``dynamodb:PutItem`` on a physical resource name (a table, queue URL, secret id)."""

    action: str
    resource: str


@contextmanager
def record_aws_calls(on_call: Callable[[AwsCall], None] | None = None) -> Iterator[list[AwsCall]]:
    """Yield the list every client created inside the block appends its calls to; ``on_call`` sees each call
    as it is made (in the calling thread, so it can inspect the caller's stack)."""
    calls: list[AwsCall] = []
    original = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        service = client.meta.service_model.signing_name

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            call = AwsCall(service, model.name, dict(params))
            calls.append(call)
            if on_call is not None:
                on_call(call)

        client.meta.events.register("before-parameter-build", record)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


def _dynamodb_resource(params: Mapping[str, Any]) -> str:
    """The table (or index) a call names; a stream call (``dynamodbstreams`` signs as ``dynamodb``) names its
    stream, or only a shard iterator (``GetRecords``): then any resource."""
    table = params.get("TableName")
    if table is None:
        return str(params.get("StreamArn", "*"))
    index = params.get("IndexName")
    return f"{table}/index/{index}" if index else str(table)


def iam_requests(call: AwsCall) -> list[IamRequest]:
    """The IAM requests ``call`` needs, resources named as the caller named them."""
    if call.service == "dynamodb":
        if call.operation == "TransactWriteItems":
            return [
                IamRequest(f"dynamodb:{TRANSACT_WRITE_PARTS[kind]}", str(part["TableName"]))
                for item in call.params["TransactItems"]
                for kind, part in item.items()
            ]
        if call.operation == "TransactGetItems":
            return [IamRequest("dynamodb:GetItem", str(i["Get"]["TableName"])) for i in call.params["TransactItems"]]
        if call.operation == "BatchWriteItem":
            return [
                IamRequest(f"dynamodb:{BATCH_WRITE_PARTS[kind]}", table)
                for table, writes in call.params["RequestItems"].items()
                for write in writes
                for kind in write
            ]
        if call.operation == "BatchGetItem":
            return [IamRequest("dynamodb:BatchGetItem", table) for table in call.params["RequestItems"]]
        return [IamRequest(f"dynamodb:{call.operation}", _dynamodb_resource(call.params))]
    names = {"sqs": ("QueueUrl", "QueueName"), "secretsmanager": ("SecretId",), "ssm": ("Name", "Path")}
    if call.service not in names:
        raise AssertionError(f"no IAM mapping for {call.service}:{call.operation}: add it here")
    found = [call.params[name] for name in names[call.service] if name in call.params]
    operation = SQS_BATCH_ACTIONS.get(call.operation, call.operation) if call.service == "sqs" else call.operation
    return [IamRequest(f"{call.service}:{operation}", str(found[0]) if found else "*")]
