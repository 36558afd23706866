"""Fixed-age snapshots that are due: scheduled when a video is first seen, settled once by the re-snapshot job.

One item per (video, age), in the partition of the hour it falls due (:func:`~miles_core.store.keys.due_key`),
so the job finds what is due with one query per recent hour instead of scanning the table. Every
write is conditional: scheduling twice writes nothing, and an entry is settled (taken, missed or
gone) at most once, which with the snapshot's own conditional put makes the job idempotent.
Entries expire (TTL) a day after their window closed, so nothing needs deleting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from miles_core.store import keys
from miles_core.store.dynamo import DynamoTable, serialize_item
from miles_core.store.records import DueOutcome, DueSnapshot, iso, parse_iso
from miles_core.store.schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

KEEP_AFTER_WINDOW = timedelta(days=1)
"""A due entry is deleted by TTL this long after its window closed (time to inspect what was missed)."""


class FixedAgeRepository:
    """The due fixed-age snapshots of the Miles table."""

    def __init__(self, table: DynamoTable, clock: Callable[[], datetime]) -> None:
        self.table = table
        self._clock = clock

    def schedule(self, video_id: str, due: Iterable[tuple[int, datetime, timedelta]]) -> int:
        """Record ``(age_hours, due_at, tolerance)`` entries for a video; returns how many were new."""
        written = 0
        for age, due_at, tolerance in due:
            item = {
                **keys.due_key(due_at, video_id, age),
                "kind": "snapshot_due",
                "video_id": video_id,
                "age_hours": age,
                "due_at": iso(due_at),
                TTL_ATTRIBUTE: int((due_at + tolerance + KEEP_AFTER_WINDOW).timestamp()),
            }
            written += self.table.put_if_absent(item, f"fixed-age snapshot due for video {video_id}")
        return written

    def due(self, now: datetime, lookback: timedelta) -> list[DueSnapshot]:
        """Unsettled entries due between ``now - lookback`` and ``now``, oldest first (one query per hour)."""
        found: list[DueSnapshot] = []
        hour = (now - lookback).replace(minute=0, second=0, microsecond=0)
        while hour <= now:
            for item in self.table.items(
                "query",
                KeyConditionExpression="#pk = :pk AND #sk <= :until",
                FilterExpression="attribute_not_exists(#settled)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY, "#settled": "settled"},
                ExpressionAttributeValues={
                    ":pk": {"S": keys.due_partition(hour)},
                    ":until": {"S": keys.due_until(now)},
                },
            ):
                found.append(DueSnapshot(str(item["video_id"]), int(item["age_hours"]), parse_iso(str(item["due_at"]))))
            hour += timedelta(hours=1)
        return found

    def settle(self, entries: Sequence[DueSnapshot], outcome: DueOutcome) -> int:
        """Mark entries settled with ``outcome``; returns how many this call settled (not settled before)."""
        settled = 0
        for entry in entries:
            response: dict[str, Any] | None = self.table.conditional(
                f"settling the {entry.age_hours} h snapshot of video {entry.video_id}",
                "update_item",
                TableName=self.table.name,
                Key=serialize_item(keys.due_key(entry.due_at, entry.video_id, entry.age_hours)),
                UpdateExpression="SET #settled = :outcome, #settled_at = :now",
                ConditionExpression="attribute_exists(#pk) AND attribute_not_exists(#settled)",
                ExpressionAttributeNames={"#settled": "settled", "#settled_at": "settled_at", "#pk": PARTITION_KEY},
                ExpressionAttributeValues={":outcome": {"S": outcome.value}, ":now": {"S": iso(self._clock())}},
            )
            settled += response is not None
        return settled
