"""DynamoDB plumbing under :class:`~miles_core.store.table.MilesStore`: values, retries, conditional writes.

* Values: Python <-> DynamoDB attribute values (floats become Decimals, datetimes ISO strings,
  ``None`` is never written: an unknown count is an absent attribute, not zero).
* Retries: every call goes through :meth:`DynamoTable.call`, which retries throttling with
  exponential backoff and full jitter and then raises :class:`StoreThrottledError` (the write did
  not happen, the caller reports it and the batch is redelivered). Nothing is dropped silently.
* Conditional writes: a failed condition is the normal "already there" or "stale" answer of an
  idempotent write, told apart from real failures by :func:`is_conditional_failure`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from miles_core.store.errors import StoreError, StoreThrottledError
from miles_core.store.models import iso
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

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_dynamo(value: Any) -> Any:
    """Python -> what TypeSerializer accepts (floats become Decimals, tuples lists, datetimes ISO)."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int, Decimal)):
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


class RetryOptions(TypedDict, total=False):
    """How :meth:`DynamoTable.call` backs off on throttling (tests pass a no-op ``sleep``)."""

    max_attempts: int
    base_delay_seconds: float
    max_delay_seconds: float
    sleep: Callable[[float], None]


class DynamoTable:
    """One table through one client, with throttling retried and conditional writes told apart."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        max_attempts: int = 6,
        base_delay_seconds: float = 0.05,
        max_delay_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.name = table_name
        self._max_attempts = max(1, max_attempts)
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds
        self._sleep = sleep

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call with backoff on throttling; raises StoreThrottledError when it gives up."""
        method = getattr(self.client, operation)
        code = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                response: dict[str, Any] = method(**kwargs)
                return response
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                throttled = code in THROTTLE_CODES
                if code == "TransactionCanceledException":
                    reasons = {r.get("Code") for r in error.response.get("CancellationReasons", []) or []}
                    throttled = bool(reasons & _THROTTLE_REASONS)
                if not throttled:
                    raise
                if attempt == self._max_attempts:
                    break
                delay = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
                logger.warning("DynamoDB %s throttled (%s), attempt %d; retrying", operation, code, attempt)
                self._sleep(random.uniform(0, delay))  # noqa: S311 - jitter, not cryptography
        raise StoreThrottledError(operation, self._max_attempts, code)

    def conditional(self, what: str, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """A conditional call: its response, or ``None`` when the condition refused it.

        Any other failure is a :class:`StoreError` naming ``what``; throttling is retried by :meth:`call`.
        """
        try:
            return self.call(operation, **kwargs)
        except ClientError as error:
            if is_conditional_failure(error):
                return None
            raise StoreError(f"{what} failed: {error}") from error

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
