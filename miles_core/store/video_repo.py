"""Videos and their snapshots: one item per video (latest stats), one snapshot item per video and run.

Every write is conditional so a repeated run or a redelivered message adds nothing twice, and an
out-of-order write cannot roll a video's latest stats back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from miles_core.store import items, keys
from miles_core.store.dynamo import Clock, DynamoTable, Retention, serialize_item, set_attributes
from miles_core.store.records import MAX_TOPICS_PER_VIDEO, ScrapedVideo, Snapshot, UpsertOutcome, VideoRecord, iso
from miles_core.store.schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from miles_core.topics import Topic


class VideoRepository:
    """Reads and writes of video and snapshot items; YouTube data expires after the retention period."""

    def __init__(self, table: DynamoTable, clock: Clock, retention: Retention) -> None:
        self.table = table
        self._clock = clock
        self._retention = retention

    def upsert_video(self, video: ScrapedVideo, *, topic: Topic | None, run_id: str) -> UpsertOutcome:
        """Create or refresh the video item with this metadata and these latest stats.

        Idempotent: the write only applies when these stats are not older than the stored ones,
        so repeating it (an SQS redelivery) changes nothing and an out-of-order write cannot roll
        the latest stats back. A video first written by ``run_id`` counts as NEW on a retry too.

        ``topic`` joins the video's topics unless it already has :data:`MAX_TOPICS_PER_VIDEO` others
        (UPDATED_OFF_TOPIC): one conditional write, a second without the topic only for a full video.
        """
        now = self._clock()
        fresh = "(attribute_not_exists(#pk) OR #observed_at <= :obs)"
        if topic is not None:
            room = "(attribute_not_exists(#topics) OR contains(#topics, :topic) OR size(#topics) < :max_topics)"
            outcome = self._upsert(video, topic, run_id, now, f"{fresh} AND {room}")
            if outcome is not None:
                return outcome
        outcome = self._upsert(video, None, run_id, now, fresh)
        if outcome is None:
            return UpsertOutcome.STALE
        return UpsertOutcome.UPDATED_OFF_TOPIC if topic is not None else outcome

    def _upsert(
        self, video: ScrapedVideo, topic: Topic | None, run_id: str, now: datetime, condition: str
    ) -> UpsertOutcome | None:
        parts = set_attributes(
            {
                **items.video_attributes(video, seen_at=now, run_id=run_id),
                TTL_ATTRIBUTE: self._retention.expires(video.stats.observed_at),
            },
            extra_sets=(
                "#first_seen_at = if_not_exists(#first_seen_at, :now)",
                "#first_run = if_not_exists(#first_run, :run)",
                # A video keeps the cohort it entered tracking through (a fresh upload later at the top stays fresh).
                *(("#cohort = if_not_exists(#cohort, :cohort)",) if video.cohort is not None else ()),
            ),
            remove_none=True,
        )
        names = {**parts.names, "#first_seen_at": "first_seen_at", "#first_run": "first_run", "#pk": PARTITION_KEY}
        values = {
            **parts.values,
            ":now": {"S": iso(now)},
            ":run": {"S": run_id},
            ":obs": {"S": iso(video.stats.observed_at)},
        }
        if video.cohort is not None:
            names["#cohort"] = "cohort"
            values[":cohort"] = {"S": video.cohort.value}
        expression = parts.expression
        if topic is not None:
            # Topics accumulate (a string set), so a video found under two niches is on both leaderboards.
            expression += " ADD #topics :topics"
            names["#topics"] = "topics"
            values.update(
                {":topics": {"SS": [topic]}, ":topic": {"S": topic}, ":max_topics": {"N": str(MAX_TOPICS_PER_VIDEO)}}
            )
        response = self.table.conditional(
            f"upsert of video {video.video_id}",
            "update_item",
            TableName=self.table.name,
            Key=serialize_item(keys.video_key(video.video_id)),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        if response is None:
            return None
        old = response.get("Attributes")
        if not old or old.get("first_run", {}).get("S") == run_id:
            return UpsertOutcome.NEW
        return UpsertOutcome.UPDATED

    def append_snapshot(self, snapshot: Snapshot) -> bool:
        """Record one snapshot per video per run (kept for the retention period); False when already recorded."""
        item = {**items.snapshot_item(snapshot), TTL_ATTRIBUTE: self._retention.expires(snapshot.stats.observed_at)}
        return self.table.put_if_absent(item, f"snapshot of video {snapshot.video_id}")

    def get_video(self, video_id: str) -> VideoRecord | None:
        item = self.table.get(keys.video_key(video_id))
        return items.video_from_item(item) if item else None

    def list_snapshots(self, video_id: str) -> list[Snapshot]:
        """A video's snapshots, oldest first."""
        return [
            items.snapshot_from_item(item)
            for item in self.table.items(
                "query",
                KeyConditionExpression="#pk = :pk AND begins_with(#sk, :snap)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
                ExpressionAttributeValues={
                    ":pk": {"S": keys.video_partition(video_id)},
                    ":snap": {"S": keys.SNAPSHOT_PREFIX},
                },
            )
        ]

    def iter_video_histories(self) -> Iterator[tuple[VideoRecord, list[Snapshot]]]:
        """Every video with its snapshots (oldest first): a full scan, for offline export only."""
        grouped: dict[str, dict[str, Any]] = {}
        for item in self.table.items(
            "scan",
            FilterExpression="begins_with(#pk, :video)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":video": {"S": keys.VIDEO_PREFIX}},
        ):
            entry = grouped.setdefault(str(item[PARTITION_KEY]), {"video": None, "snapshots": []})
            if items.is_video_item(item):
                entry["video"] = item
            else:
                entry["snapshots"].append(item)
        for entry in grouped.values():
            if entry["video"] is None:
                continue
            snapshots = (items.snapshot_from_item(s) for s in entry["snapshots"])
            yield items.video_from_item(entry["video"]), sorted(snapshots, key=lambda s: s.stats.observed_at)
