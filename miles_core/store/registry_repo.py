"""The model registry: when each model version first scored anything.

Leaderboards sort scored rows by model age first, so a new model's scores rank above an old one's
without rewriting them; the first-seen time is written once (a conditional put) and cached per container.
"""

from __future__ import annotations

from miles_core.store import keys
from miles_core.store.dynamo import Clock, DynamoTable
from miles_core.store.records import iso


class ModelRegistry:
    """One registry item per model version."""

    def __init__(self, table: DynamoTable, clock: Clock) -> None:
        self.table = table
        self._clock = clock
        self._model_seen_at: dict[str, str] = {}

    def model_seen_at(self, model_version: str) -> str:
        """When this model version first scored anything (registered once): orders leaderboards by model age."""
        if model_version in self._model_seen_at:
            return self._model_seen_at[model_version]
        key = keys.model_key(model_version)
        now = iso(self._clock())
        seen = now
        registry = {**key, "kind": "model", "model_version": model_version, "first_seen_at": now}
        if not self.table.put_if_absent(registry, "model registry write"):
            existing = self.table.get(key)
            seen = str(existing["first_seen_at"]) if existing else now
        self._model_seen_at[model_version] = seen
        return seen
