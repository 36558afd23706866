"""Daily quota counters (the YouTube Data API's units), spent atomically by concurrent workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from miles_core.store import keys
from miles_core.store.dynamo import DynamoTable, serialize_item
from miles_core.store.schema import TTL_ATTRIBUTE

QUOTA_KEEP_DAYS = 3
"""A daily quota counter is deleted by TTL this many days after its day began."""


class QuotaRepository:
    """One counter item per (service, UTC day)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def spend_quota(self, service: str, day: str, units: int, limit: int) -> int | None:
        """Add ``units`` to ``service``'s counter for UTC ``day`` unless that passes ``limit``.

        One atomic conditional UpdateItem, so concurrent workers never overspend together. Returns
        the units spent that day after this call, or ``None`` when the budget would be exceeded.
        """
        if units > limit:
            return None
        day_start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
        response = self.table.conditional(
            f"spending {units} {service} quota units",
            "update_item",
            TableName=self.table.name,
            Key=serialize_item(keys.quota_key(service, day)),
            UpdateExpression="ADD #units :units SET #kind = :kind, #exp = :exp",
            ConditionExpression="attribute_not_exists(#units) OR #units <= :room",
            ExpressionAttributeNames={"#units": "units", "#kind": "kind", "#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":units": {"N": str(units)},
                ":room": {"N": str(limit - units)},
                ":kind": {"S": "quota"},
                ":exp": {"N": str(int((day_start + timedelta(days=QUOTA_KEEP_DAYS)).timestamp()))},
            },
            ReturnValues="UPDATED_NEW",
        )
        if response is None:
            return None
        return int(response["Attributes"]["units"]["N"])

    def quota_spent(self, service: str, day: str) -> int:
        """Units of ``service``'s quota spent on UTC ``day`` (0 before the first call)."""
        item = self.table.get(keys.quota_key(service, day))
        return int(item.get("units", 0)) if item else 0
