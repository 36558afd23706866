"""``MilesStore``: every read and write of the single DynamoDB table, by intention.

Callers pass and receive the records of :mod:`miles_core.store.records`; they never see a key or
an attribute value. The key layout is :mod:`~miles_core.store.keys`, the record <-> item mapping
:mod:`~miles_core.store.items`, the retries and conditional writes :mod:`~miles_core.store.dynamo`.
This module only says which items each operation touches, under which condition, and why: the
conditions are what make every write idempotent (an SQS redelivery or a retried schedule adds
nothing twice) and what keep the stream scorer from re-scoring its own output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from miles_core.config import DEFAULT_RETENTION_DAYS, env_int, env_required
from miles_core.store import items, keys
from miles_core.store.dynamo import (
    DynamoTable,
    UpdateParts,
    client_config,
    deserialize_item,
    serialize_item,
    serialize_value,
    set_attributes,
)
from miles_core.store.fixed_age_repo import FixedAgeRepository
from miles_core.store.records import (
    MAX_JOB_ERRORS,
    MAX_TOPICS_PER_VIDEO,
    CandidatePage,
    JobCounts,
    JobStatus,
    Score,
    ScoreWriteOutcome,
    ScrapedVideo,
    ScrapeJob,
    Snapshot,
    UpsertOutcome,
    VideoRecord,
    iso,
)
from miles_core.store.schema import GSI1_NAME, GSI1_PARTITION_KEY, GSI1_SORT_KEY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from miles_core.topics import Topic

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_CANDIDATE_PAGES = 3
"""DynamoDB queries one ``list_candidates`` call may make (bounded work per API request)."""
QUOTA_KEEP_DAYS = 3
"""A daily quota counter is deleted by TTL this many days after its day began."""


class MilesStore:
    """The Miles table. One instance per Lambda container (module scope), reused across invocations."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        self.table = DynamoTable(client, table_name)
        self._clock = clock
        self._model_seen_at: dict[str, str] = {}
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self.retention = timedelta(days=retention_days)
        """How long YouTube data (videos, snapshots, leaderboard rows) is kept after it was read from YouTube."""
        self.fixed_ages = FixedAgeRepository(self.table, clock)
        """Fixed-age snapshots that are due (scheduled at first sight, settled by the re-snapshot job)."""

    def _expires(self, observed_at: datetime) -> int:
        """The TTL of YouTube-derived data read from YouTube at ``observed_at`` (the retention policy, see config).

        The read time, not the write time: the catalog source re-writes stored videos with their old
        observations, and that must not keep data read long ago past its 30 days.
        """
        return int((observed_at + self.retention).timestamp())

    @classmethod
    def from_env(cls, client: DynamoDBClient | None = None) -> MilesStore:
        """``MILES_TABLE_NAME`` + a DynamoDB client (``AWS_ENDPOINT_URL`` is honoured by boto3 itself)."""
        if client is None:
            import boto3

            client = boto3.client("dynamodb", config=client_config())  # botocore's retries: the only layer
        return cls(
            client,
            env_required("MILES_TABLE_NAME"),
            retention_days=env_int("MILES_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
        )

    def _update(self, key: keys.Key, parts: UpdateParts, **extra: Any) -> dict[str, Any]:
        return self.table.call(
            "update_item",
            TableName=self.table.name,
            Key=serialize_item(key),
            UpdateExpression=parts.expression,
            ExpressionAttributeNames=parts.names,
            ExpressionAttributeValues=parts.values,
            **extra,
        )

    # ------------------------------------------------------------------ videos and snapshots

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
                TTL_ATTRIBUTE: self._expires(video.stats.observed_at),
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
        item = {**items.snapshot_item(snapshot), TTL_ATTRIBUTE: self._expires(snapshot.stats.observed_at)}
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

    # ------------------------------------------------------------------ topics and leaderboards

    def add_topic_membership(self, topic: Topic, video: ScrapedVideo) -> None:
        """Put the video on ``topic``'s leaderboard (unscored until the scorer writes its score)."""
        now = self._clock()
        parts = set_attributes(
            {
                **items.membership_attributes(topic, video, seen_at=now),
                TTL_ATTRIBUTE: self._expires(video.stats.observed_at),
            },
            extra_sets=("#gsk = if_not_exists(#gsk, :unscored)",),
            remove_none=True,
        )
        self._update(
            keys.membership_key(topic, video.video_id),
            UpdateParts(
                parts.expression,
                {**parts.names, "#gsk": GSI1_SORT_KEY},
                {**parts.values, ":unscored": {"S": keys.unscored_rank(now, video.video_id)}},
            ),
        )

    def list_candidates(
        self,
        topic: Topic,
        *,
        limit: int = 20,
        min_probability: float | None = None,
        cursor: str | None = None,
        seen_within: timedelta | None = None,
    ) -> CandidatePage:
        """A topic's leaderboard: scored (newest model, highest probability first), then unscored.

        ``min_probability`` keeps scored rows at or above it (unscored rows have no probability and
        are left out); ``seen_within`` keeps rows a scrape saw recently. ``cursor`` is opaque.

        At most :data:`MAX_CANDIDATE_PAGES` queries per call: a filter that matches few rows would
        otherwise read the whole leaderboard in one request (``limit=1&min_probability=1.0`` over 300
        rows made 300 queries). The page may then hold fewer than ``limit`` items, with the cursor to
        continue; ``next_cursor`` is ``None`` only when the leaderboard is exhausted.
        """
        partition = keys.topic_partition(topic)
        names = {"#gpk": GSI1_PARTITION_KEY}
        values: dict[str, Any] = {":gpk": {"S": partition}}
        condition = "#gpk = :gpk"
        filters: list[str] = []
        if min_probability is not None:
            condition += " AND begins_with(#gsk, :scored)"
            names.update({"#gsk": GSI1_SORT_KEY, "#score": "score", "#p": "viral_probability"})
            values[":scored"] = {"S": keys.SCORED_RANK_PREFIX}
            filters.append("#score.#p >= :minp")
            values[":minp"] = serialize_value(float(min_probability))
        if seen_within is not None:
            filters.append("#last_seen >= :since")
            names["#last_seen"] = "last_seen_at"
            values[":since"] = {"S": iso(self._clock() - seen_within)}
        query: dict[str, Any] = {
            "IndexName": GSI1_NAME,
            "ScanIndexForward": False,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
        start_key = serialize_item(keys.decode_cursor(cursor, partition)) if cursor else None
        found: list[Any] = []
        last_key: dict[str, Any] | None = None
        for _ in range(MAX_CANDIDATE_PAGES):
            if len(found) >= limit:
                break
            page_query = dict(query, TableName=self.table.name, Limit=limit - len(found))
            if start_key:
                page_query["ExclusiveStartKey"] = start_key
            response = self.table.call("query", **page_query)
            found.extend(items.candidate_from_item(deserialize_item(raw)) for raw in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                break
            start_key = last_key
        next_cursor = keys.encode_cursor(deserialize_item(last_key)) if last_key else None
        return CandidatePage(items=found, next_cursor=next_cursor)

    # ------------------------------------------------------------------ scores

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

    def write_score(self, video: VideoRecord, score: Score) -> ScoreWriteOutcome:
        """Write ``score`` onto the video and its leaderboard rows, atomically.

        Conditions make it exactly-once per (stats, model): the video's stats must still be the
        ones scored (else a newer stream record is on its way) and no score from the same model
        for the same stats may exist (a redelivered record). The write changes only ``score``, so
        the stream record it causes carries a current score and the scorer skips it: no loop.
        """
        if score.stats_key != video.stats_key:
            raise ValueError("score was computed from other stats than the video's")
        score_value = items.score_to_dict(score)
        rank = keys.scored_rank(self.model_seen_at(score.model_version), score.viral_probability, video.video_id)
        video_update = {
            "TableName": self.table.name,
            "Key": serialize_item(keys.video_key(video.video_id)),
            "UpdateExpression": "SET #score = :score",
            "ConditionExpression": (
                "#stats_key = :stats_key AND (attribute_not_exists(#score) "
                "OR #score.#mv <> :mv OR #score.#sk <> :stats_key)"
            ),
            "ExpressionAttributeNames": {
                "#score": "score",
                "#stats_key": "stats_key",
                "#mv": "model_version",
                "#sk": "stats_key",
            },
            "ExpressionAttributeValues": {
                ":score": serialize_value(score_value),
                ":stats_key": {"S": video.stats_key},
                ":mv": {"S": score.model_version},
            },
        }
        actions: list[dict[str, Any]] = [{"Update": video_update}]
        for topic in video.topics[:MAX_TOPICS_PER_VIDEO]:  # a video stored before the cap may hold more
            row = {
                **items.membership_attributes(topic, video, seen_at=video.last_seen_at),
                GSI1_SORT_KEY: rank,
                "score": score_value,
                TTL_ATTRIBUTE: self._expires(video.stats.observed_at),  # expires with the data it shows
            }
            parts = set_attributes(row, remove_none=False)
            actions.append(
                {
                    "Update": {
                        "TableName": self.table.name,
                        "Key": serialize_item(keys.membership_key(topic, video.video_id)),
                        "UpdateExpression": parts.expression,
                        "ExpressionAttributeNames": parts.names,
                        "ExpressionAttributeValues": parts.values,
                    }
                }
            )
        written = self.table.conditional(
            f"score write for video {video.video_id}", "transact_write_items", TransactItems=actions
        )
        return ScoreWriteOutcome.WRITTEN if written is not None else ScoreWriteOutcome.STALE

    # ------------------------------------------------------------------ scrape jobs

    def create_job(self, job: ScrapeJob, lease: timedelta | None = None) -> bool:
        """Record a job: True when this call recorded it, False when a job with its id already exists.

        With ``lease``, a ``queued`` job reads failed unless it is marked enqueued (or started) within
        ``lease`` from now: its producer has that long to hand it to the queue.
        """
        if lease is not None:
            job = replace(job, lease_expires_at=self._clock() + lease)
        return self.table.put_if_absent(items.job_item(job), f"recording job {job.job_id}")

    def get_job(self, job_id: str) -> ScrapeJob | None:
        """The job; one still ``running`` past its lease reads as ``failed`` ("timed out")."""
        item = self.table.get(keys.job_key(job_id))
        return items.job_from_item(item, now=self._clock()) if item else None

    def start_job(self, job_id: str, lease: timedelta) -> ScrapeJob:
        """Mark the job running until ``now + lease`` and count the attempt (a redelivery is attempt 2, 3, ...).

        The lease is the worker's remaining time: if the worker dies or is cut at its timeout, the job
        reads as failed once the lease has passed instead of ``running`` until its TTL.
        """
        now = self._clock()
        response = self._update(
            keys.job_key(job_id),
            UpdateParts(
                "SET #status = :running, #updated = :now, #lease = :lease ADD #attempts :one",
                {
                    "#pk": PARTITION_KEY,
                    "#status": "status",
                    "#updated": "updated_at",
                    "#attempts": "attempts",
                    "#lease": "lease_expires_at",
                },
                {
                    ":running": {"S": JobStatus.RUNNING.value},
                    ":now": {"S": iso(now)},
                    ":lease": {"S": iso(now + lease)},
                    ":one": {"N": "1"},
                },
            ),
            ConditionExpression="attribute_exists(#pk)",
            ReturnValues="ALL_NEW",
        )
        return items.job_from_item(deserialize_item(response["Attributes"]))

    def _update_job_if(
        self, job_id: str, what: str, update: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> bool:
        """One conditional update of the job's item (``#pk`` is predefined): False when ``condition`` refused it."""
        written = self.table.conditional(
            f"{what} job {job_id}",
            "update_item",
            TableName=self.table.name,
            Key=serialize_item(keys.job_key(job_id)),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#pk": PARTITION_KEY, **names},
            ExpressionAttributeValues=values,
        )
        return written is not None

    def mark_job_enqueued(self, job_id: str, lease: timedelta) -> bool:
        """Record that the queue took the job's message: it stays ``queued`` until ``now + lease`` (the queue's
        retention), then reads failed. False when a worker had already started it (its own lease stands)."""
        now = self._clock()
        return self._update_job_if(
            job_id,
            "marking enqueued",
            "SET #enqueued = :now, #lease = :lease",
            "attribute_exists(#pk) AND #status = :queued",
            {"#status": "status", "#enqueued": "enqueued_at", "#lease": "lease_expires_at"},
            {":queued": {"S": JobStatus.QUEUED.value}, ":now": {"S": iso(now)}, ":lease": {"S": iso(now + lease)}},
        )

    def requeue_unsent_job(self, job_id: str, seen_updated_at: datetime, lease: timedelta) -> bool:
        """Claim a job that was recorded but never handed to the queue, so this caller sends it again.

        It reads ``queued`` until ``now + lease`` once more. The condition (never enqueued, never started,
        unchanged since the caller read it at ``seen_updated_at``) lets exactly one of several concurrent
        retries win; False for the others.
        """
        now = self._clock()
        return self._update_job_if(
            job_id,
            "re-queueing",
            "SET #status = :queued, #updated = :now, #lease = :lease",
            "attribute_exists(#pk) AND attribute_not_exists(#enqueued) AND #attempts = :zero AND #updated = :seen",
            {
                "#status": "status",
                "#updated": "updated_at",
                "#lease": "lease_expires_at",
                "#enqueued": "enqueued_at",
                "#attempts": "attempts",
            },
            {
                ":queued": {"S": JobStatus.QUEUED.value},
                ":now": {"S": iso(now)},
                ":lease": {"S": iso(now + lease)},
                ":zero": {"N": "0"},
                ":seen": {"S": iso(seen_updated_at)},
            },
        )

    def fail_unfinished_job(self, job_id: str, reason: str) -> bool:
        """Mark a ``queued`` or ``running`` job failed with ``reason``; False when it had finished (or is unknown).

        For jobs whose message reached the dead-letter queue: a job that finished keeps its outcome.
        """
        return self._update_job_if(
            job_id,
            "failing",
            "SET #status = :failed, #updated = :now, #errors = list_append(if_not_exists(#errors, :empty), :reason)",
            "attribute_exists(#pk) AND #status IN (:queued, :running)",
            {"#status": "status", "#updated": "updated_at", "#errors": "errors"},
            {
                ":failed": {"S": JobStatus.FAILED.value},
                ":queued": {"S": JobStatus.QUEUED.value},
                ":running": {"S": JobStatus.RUNNING.value},
                ":now": {"S": iso(self._clock())},
                ":reason": serialize_value([reason[:500]]),
                ":empty": {"L": []},
            },
        )

    def claim_job_slot(self, slot: keys.Key, job_id: str, window: timedelta, *, replacing: str | None = None) -> str:
        """The job id holding ``slot`` for ``window``: ``job_id`` when this call claimed it, else the holder's.

        A conditional put (free, expired, or held by ``replacing``) makes two identical requests
        racing each other agree on one job.
        """
        now = self._clock()
        item = {**slot, "kind": "job_slot", "job_id": job_id, TTL_ATTRIBUTE: int((now + window).timestamp())}
        condition = "attribute_not_exists(#pk) OR #exp <= :now"
        values: dict[str, Any] = {":now": {"N": str(int(now.timestamp()))}}
        if replacing is not None:
            condition += " OR #job = :replacing"
            values[":replacing"] = {"S": replacing}
        written = self.table.conditional(
            f"claiming the job slot of {job_id}",
            "put_item",
            TableName=self.table.name,
            Item=serialize_item(item),
            ConditionExpression=condition,
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#exp": TTL_ATTRIBUTE, "#job": "job_id"}
            if replacing is not None
            else {"#pk": PARTITION_KEY, "#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues=values,
        )
        if written is not None:
            return job_id
        holder = self.table.get(slot)
        return str(holder["job_id"]) if holder else job_id

    # ------------------------------------------------------------------ quota counters

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

    def finish_job(
        self, job_id: str, status: JobStatus, counts: JobCounts, errors: list[str], source: str | None
    ) -> None:
        """Store the outcome of one attempt (counts and errors of that attempt)."""
        outcome = {
            "status": status.value,
            "updated_at": iso(self._clock()),
            "counts": counts.as_dict(),
            "errors": [e[:500] for e in errors[:MAX_JOB_ERRORS]],
            "source": source or "",
        }
        self._update(keys.job_key(job_id), set_attributes(outcome, remove_none=False))

    # ------------------------------------------------------------------ cache

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
