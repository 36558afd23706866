"""A JSON cache with a TTL in the table (the recommendations' answers)."""

from __future__ import annotations

import json
from typing import Any

from miles_core.store import keys
from miles_core.store.dynamo import Clock, DynamoTable, serialize_item
from miles_core.store.schema import TTL_ATTRIBUTE


class CacheRepository:
    """One cache item per key; expiry checked on read (DynamoDB deletes expired items lazily)."""

    def __init__(self, table: DynamoTable, clock: Clock) -> None:
        self.table = table
        self._clock = clock

    def get_cached(self, key: str) -> Any | None:
        """A cached JSON value, or None when missing or expired (TTL deletion is lazy, so check it)."""
        item = self.table.get(keys.cache_key(key))
        if not item or int(item.get(TTL_ATTRIBUTE, 0)) <= int(self._clock().timestamp()):
            return None
        return json.loads(str(item["value"]))

    def put_cached(self, key: str, value: Any, ttl_seconds: int) -> None:
        """Cache a JSON-serialisable value for ``ttl_seconds``."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        expires = int(self._clock().timestamp()) + int(ttl_seconds)
        item = {
            **keys.cache_key(key),
            "kind": "cache",
            "value": json.dumps(value, separators=(",", ":"), sort_keys=True),
            TTL_ATTRIBUTE: expires,
        }
        self.table.call("put_item", TableName=self.table.name, Item=serialize_item(item))
