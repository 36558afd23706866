"""DynamoDB plumbing under :class:`~miles_core.store.facade.MilesStore`: values, retries, conditional writes.

* Values: Python <-> DynamoDB attribute values (floats become Decimals, datetimes ISO strings,
  ``None`` is never written: an unknown count is an absent attribute, not zero).
* Retries: one layer, botocore's own (standard mode, ``max_attempts`` set once where the client is
  made: :func:`client_config`). A second loop here would multiply with it (3 x 6 = 18 tries of one
  throttled write). :meth:`DynamoTable.call` only turns a throttle botocore gave up on into
  :class:`StoreThrottledError` (the write did not happen, the caller reports it and the batch is
  redelivered). Nothing is dropped silently.
* Conditional writes: a failed condition is the normal "already there" or "stale" answer of an
  idempotent write, told apart from real failures by :func:`is_conditional_failure`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from miles_core.store.exceptions import StoreError, StoreThrottledError
from miles_core.store.records import iso
from miles_core.store.schema import PARTITION_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionConflictException",
    }
)
_THROTTLE_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"})
Clock = Callable[[], datetime]
"""What the store reads the time from (the wall clock in production, a fixed time in tests)."""


@dataclass(frozen=True)
class Retention:
    """How long YouTube data (videos, snapshots, leaderboard rows) is kept after it was read from YouTube."""

    period: timedelta

    def expires(self, observed_at: datetime) -> int:
        """The TTL attribute (epoch seconds) of data read from YouTube at ``observed_at``.

        The read time, not the write time: the catalog source re-writes stored videos with their old
        observations, and that must not keep data read long ago past its retention period.
        """
        return int((observed_at + self.period).timestamp())


MAX_ATTEMPTS = 3
"""Tries of one call (the first + 2 retries with botocore's jittered backoff): the store's only retry layer."""


def client_config() -> Config:
    """The DynamoDB client's configuration: botocore standard retries, :data:`MAX_ATTEMPTS` tries."""
    # ``total_max_attempts`` counts the first try; botocore's ``max_attempts`` would count retries (3 -> 4 tries).
    return Config(retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS})


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_dynamo(value: Any) -> Any:
    """Python -> what TypeSerializer accepts (floats become Decimals, tuples lists, datetimes ISO)."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int, Decimal, bytes)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(k): _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {_to_dynamo(v) for v in value}
    raise TypeError(f"cannot store {type(value).__name__}")


def _from_dynamo(value: Any) -> Any:
    """Decimals back to int/float, sets to sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_from_dynamo(v) for v in value)
    if isinstance(value, Binary):
        stored: bytes = value.value  # type: ignore[attr-defined]  # boto3's stubs omit the attribute it has
        return stored
    return value


def serialize_value(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value."""
    return dict(_serializer.serialize(_to_dynamo(value)))


def serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item (or key) as DynamoDB attribute values; ``None`` attributes are left out."""
    return {k: serialize_value(v) for k, v in item.items() if v is not None}


def deserialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values (a GetItem/Query item or a stream image) as plain Python values."""
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items()}


@dataclass(frozen=True)
class UpdateParts:
    """``UpdateExpression`` with its attribute names and values."""

    expression: str
    names: dict[str, str]
    values: dict[str, Any]


def set_attributes(values: Mapping[str, Any], *, extra_sets: tuple[str, ...] = (), remove_none: bool) -> UpdateParts:
    """``SET #a = :a, ...`` for every present value (names used as placeholders, so they must be identifiers).

    With ``remove_none`` a ``None`` value becomes ``REMOVE #a`` (a count that became hidden is
    removed, not zeroed); without it ``None`` values are left as they are. ``extra_sets`` are added
    verbatim (e.g. ``if_not_exists`` clauses); their placeholders are the caller's.
    """
    present = {k: v for k, v in values.items() if v is not None}
    sets = [f"#{k} = :{k}" for k in present] + list(extra_sets)
    removes = [f"#{k}" for k, v in values.items() if v is None] if remove_none else []
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    names = {f"#{k}": k for k, v in values.items() if v is not None or remove_none}
    return UpdateParts(expression, names, {f":{k}": serialize_value(v) for k, v in present.items()})


def is_conditional_failure(error: ClientError) -> bool:
    """True when a write was refused by its condition (also inside a cancelled transaction)."""
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = [r.get("Code") for r in error.response.get("CancellationReasons", []) or []]
        return "ConditionalCheckFailed" in reasons
    return False


class DynamoTable:
    """One table through one client, with exhausted throttling typed and conditional writes told apart."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.name = table_name

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call (botocore retries it); :class:`StoreThrottledError` when throttling outlasted that."""
        method = getattr(self.client, operation)
        try:
            response: dict[str, Any] = method(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            throttled = code in THROTTLE_CODES
            if code == "TransactionCanceledException":
                reasons = {r.get("Code") for r in error.response.get("CancellationReasons", []) or []}
                throttled = bool(reasons & _THROTTLE_REASONS)
            if not throttled:
                raise
            attempts = int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
            logger.warning("DynamoDB %s throttled (%s) after %d attempts", operation, code, attempts)
            raise StoreThrottledError(operation, attempts, code) from error
        return response

    def conditional(self, what: str, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """A conditional call: its response, or ``None`` when the condition refused it.

        Any other failure is a :class:`StoreError` naming ``what``; throttling is botocore's to retry.
        """
        try:
            return self.call(operation, **kwargs)
        except ClientError as error:
            if is_conditional_failure(error):
                return None
            raise StoreError(f"{what} failed: {error}") from error

    def update(self, key: Mapping[str, str], parts: UpdateParts, **extra: Any) -> dict[str, Any]:
        """One ``update_item`` of ``key`` with ``parts`` (plus a condition or return values in ``extra``)."""
        return self.call(
            "update_item",
            TableName=self.name,
            Key=serialize_item(key),
            UpdateExpression=parts.expression,
            ExpressionAttributeNames=parts.names,
            ExpressionAttributeValues=parts.values,
            **extra,
        )

    def put_if_absent(self, item: Mapping[str, Any], what: str) -> bool:
        """Write a plain item unless its key exists: False when it did (the idempotent case)."""
        written = self.conditional(
            what,
            "put_item",
            TableName=self.name,
            Item=serialize_item(item),
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
        )
        return written is not None

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        """The plain item at ``key`` (strongly consistent), or None."""
        response = self.call("get_item", TableName=self.name, Key=serialize_item(key), ConsistentRead=True)
        item = response.get("Item")
        return deserialize_item(item) if item else None

    def pages(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every page of a query or scan (``LastEvaluatedKey`` followed)."""
        while True:
            response = self.call(operation, TableName=self.name, **kwargs)
            yield response
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def items(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item of a query or scan, as plain values."""
        for page in self.pages(operation, **kwargs):
            for raw in page.get("Items", []):
                yield deserialize_item(raw)
