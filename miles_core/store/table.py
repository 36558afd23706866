"""``MilesStore``: every read and write of the single DynamoDB table, by intention.

Item kinds and keys (nothing outside this module builds them):

| kind | PK | SK | GSI1PK / GSI1SK |
|---|---|---|---|
| video (latest metadata + stats + score) | ``VIDEO#<id>`` | ``META`` | - |
| snapshot (counts per scrape run) | ``VIDEO#<id>`` | ``SNAP#<run_at>#<run_id>`` | - |
| topic membership (leaderboard row) | ``TOPIC#<topic>`` | ``VIDEO#<id>`` | ``TOPIC#<topic>`` / see below |
| scrape job | ``JOB#<id>`` | ``JOB`` | - |
| cache entry (TTL) | ``CACHE#<key>`` | ``CACHE`` | - |
| model registry | ``MODEL#<version>`` | ``MODEL`` | - |

GSI1SK of a leaderboard row: ``1#<model_first_seen>#<probability>#<id>`` when scored,
``0#<last_seen>#<id>`` when not.

Why these shapes: a video and its snapshots share a partition, so one query returns a video's
history (``export-dataset``); snapshot keys contain the run, so a repeated write in the same run is
a no-op under ``attribute_not_exists`` and a new run adds a row. Leaderboard sort keys start with
``1#`` (scored) or ``0#`` (unscored), so a descending query lists scored rows first, newest model
first, highest probability first, and unscored rows stay visible after them. Only video items
(``SK = META``) should reach the scorer (stream filter); the scorer's own write is recognised by
its stats key, so it never re-scores its own output.

Throttling: every call goes through :meth:`MilesStore._call`, which retries throttling errors with
exponential backoff and full jitter and then raises :class:`StoreThrottledError` (the write did
not happen, the caller reports it and the batch is redelivered). Nothing is dropped silently.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from miles_core.config import env_required
from miles_core.observation import Observation
from miles_core.store.errors import InvalidCursorError, StoreError, StoreThrottledError
from miles_core.store.models import (
    MAX_JOB_ERRORS,
    Candidate,
    CandidatePage,
    JobCounts,
    JobStatus,
    Score,
    ScoreWriteOutcome,
    ScrapedVideo,
    ScrapeJob,
    ScrapeJobRequest,
    Snapshot,
    UpsertOutcome,
    VideoRecord,
    VideoStats,
    iso,
    parse_iso,
)
from miles_core.store.schema import (
    GSI1_NAME,
    GSI1_PARTITION_KEY,
    GSI1_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
)
from miles_core.topics import normalize_topic

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
VIDEO_PREFIX = "VIDEO#"
VIDEO_SK = "META"
SNAPSHOT_PREFIX = "SNAP#"
TOPIC_PREFIX = "TOPIC#"
MAX_TRANSACTION_ITEMS = 100
JOB_TTL_DAYS = 90
MAX_CACHE_KEY_CHARS = 1000

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


def serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in item.items() if v is not None}


def deserialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items()}


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_time(value: Any) -> datetime | None:
    return None if not value else parse_iso(str(value))


def _video_key(video_id: str) -> dict[str, Any]:
    return {PARTITION_KEY: {"S": VIDEO_PREFIX + video_id}, SORT_KEY: {"S": VIDEO_SK}}


def _membership_key(topic: str, video_id: str) -> dict[str, Any]:
    return {PARTITION_KEY: {"S": TOPIC_PREFIX + topic}, SORT_KEY: {"S": VIDEO_PREFIX + video_id}}


def _stats_attributes(stats: VideoStats) -> dict[str, Any]:
    return {
        "observed_at": iso(stats.observed_at),
        "view_count": stats.view_count,
        "like_count": stats.like_count,
        "comment_count": stats.comment_count,
    }


def score_to_dict(score: Score) -> dict[str, Any]:
    return {
        "viral_probability": score.viral_probability,
        "predicted_velocity_views_per_hour": score.predicted_velocity_views_per_hour,
        "is_viral": score.is_viral,
        "threshold": score.threshold,
        "regime": score.regime,
        "model_version": score.model_version,
        "scored_at": iso(score.scored_at),
        "stats_key": score.stats_key,
        "stats": dict(score.stats),
    }


def score_from_dict(data: Mapping[str, Any] | None) -> Score | None:
    if not data:
        return None
    return Score(
        viral_probability=float(data["viral_probability"]),
        predicted_velocity_views_per_hour=float(data["predicted_velocity_views_per_hour"]),
        is_viral=bool(data["is_viral"]),
        threshold=float(data["threshold"]),
        regime=str(data["regime"]),
        model_version=str(data["model_version"]),
        scored_at=parse_iso(str(data["scored_at"])),
        stats_key=str(data["stats_key"]),
        stats=dict(data.get("stats") or {}),
    )


def is_video_item(item: Mapping[str, Any]) -> bool:
    """True for a plain (deserialized) video item: what the stream scorer acts on."""
    return str(item.get(PARTITION_KEY, "")).startswith(VIDEO_PREFIX) and item.get(SORT_KEY) == VIDEO_SK


def video_from_item(item: Mapping[str, Any]) -> VideoRecord:
    """A deserialized video item (from GetItem or a stream image) -> :class:`VideoRecord`."""
    observation = Observation(
        video_id=str(item["video_id"]),
        title=str(item["title"]),
        description=str(item.get("description") or ""),
        tags=tuple(item.get("tags") or ()),
        category_id=_opt_int(item.get("category_id")),
        language=item.get("language"),
        channel_id=item.get("channel_id"),
        channel_title=item.get("channel_title"),
        channel_follower_count=_opt_int(item.get("channel_follower_count")),
        published_at=_opt_time(item.get("published_at")),
        observed_at=parse_iso(str(item["observed_at"])),
        duration_seconds=None if item.get("duration_seconds") is None else float(item["duration_seconds"]),
        view_count=_opt_int(item.get("view_count")),
        like_count=_opt_int(item.get("like_count")),
        comment_count=_opt_int(item.get("comment_count")),
        thumbnail_url=item.get("thumbnail_url"),
    )
    return VideoRecord(
        video_id=str(item["video_id"]),
        observation=observation,
        source=str(item.get("source") or ""),
        thumbnail_url=item.get("thumbnail_url"),
        webpage_url=item.get("webpage_url"),
        topics=tuple(item.get("topics") or ()),
        first_seen_at=parse_iso(str(item["first_seen_at"])),
        last_seen_at=parse_iso(str(item["last_seen_at"])),
        stats_key=str(item["stats_key"]),
        score=score_from_dict(item.get("score")),
    )


def _candidate_from_item(item: Mapping[str, Any]) -> Candidate:
    return Candidate(
        topic=str(item["topic"]),
        video_id=str(item["video_id"]),
        title=str(item["title"]),
        channel_id=item.get("channel_id"),
        channel_title=item.get("channel_title"),
        thumbnail_url=item.get("thumbnail_url"),
        published_at=_opt_time(item.get("published_at")),
        stats=VideoStats(
            observed_at=parse_iso(str(item["observed_at"])),
            view_count=_opt_int(item.get("view_count")),
            like_count=_opt_int(item.get("like_count")),
            comment_count=_opt_int(item.get("comment_count")),
        ),
        last_seen_at=parse_iso(str(item["last_seen_at"])),
        score=score_from_dict(item.get("score")),
    )


def _job_from_item(item: Mapping[str, Any]) -> ScrapeJob:
    counts = item.get("counts") or {}
    return ScrapeJob(
        job_id=str(item["job_id"]),
        request=ScrapeJobRequest(
            topic=str(item["topic"]),
            max_results=int(item["max_results"]),
            max_duration_seconds=_opt_int(item.get("max_duration_seconds")),
        ),
        status=JobStatus(str(item["status"])),
        created_at=parse_iso(str(item["created_at"])),
        updated_at=parse_iso(str(item["updated_at"])),
        trigger=str(item.get("trigger") or "api"),
        counts=JobCounts(**{k: int(counts.get(k, 0)) for k in ("found", "new", "updated", "failed")}),
        errors=tuple(item.get("errors") or ()),
        source=item.get("source"),
        attempts=int(item.get("attempts") or 0),
        run_id=item.get("run_id"),
    )


def _unscored_sort_key(last_seen_at: datetime, video_id: str) -> str:
    return f"0#{iso(last_seen_at)}#{video_id}"


def _scored_sort_key(model_seen_at: str, probability: float, video_id: str) -> str:
    return f"1#{model_seen_at}#{probability:.6f}#{video_id}"


class MilesStore:
    """The Miles table. One instance per Lambda container (module scope), reused across invocations."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        max_attempts: int = 6,
        base_delay_seconds: float = 0.05,
        max_delay_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.table_name = table_name
        self._max_attempts = max(1, max_attempts)
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds
        self._sleep = sleep
        self._clock = clock
        self._model_seen_at: dict[str, str] = {}

    @classmethod
    def from_env(cls, client: Any | None = None) -> MilesStore:
        """``MILES_TABLE_NAME`` + a DynamoDB client (``AWS_ENDPOINT_URL`` is honoured by boto3 itself)."""
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
        return cls(client, env_required("MILES_TABLE_NAME"))

    # ------------------------------------------------------------------ plumbing

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
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

    @staticmethod
    def _is_conditional_failure(error: ClientError) -> bool:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            return True
        if code == "TransactionCanceledException":
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", []) or []]
            return "ConditionalCheckFailed" in reasons
        return False

    def _put_if_absent(self, item: dict[str, Any], what: str) -> bool:
        """Write a serialized item unless its key exists: False when it did (the idempotent case).

        Any other failure is a :class:`StoreError` naming ``what``; throttling is retried by ``_call``.
        """
        try:
            self._call(
                "put_item",
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY},
            )
        except ClientError as error:
            if self._is_conditional_failure(error):
                return False
            raise StoreError(f"{what} failed: {error}") from error
        return True

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self._call("get_item", TableName=self.table_name, Key=key, ConsistentRead=True)
        item = response.get("Item")
        return deserialize_item(item) if item else None

    # ------------------------------------------------------------------ videos and snapshots

    def upsert_video(self, video: ScrapedVideo, *, topic: str | None, run_id: str) -> UpsertOutcome:
        """Create or refresh the video item with this metadata and these latest stats.

        Idempotent: the write only applies when these stats are not older than the stored ones,
        so repeating it (an SQS redelivery) changes nothing and an out-of-order write cannot roll
        the latest stats back. A video first written by ``run_id`` counts as NEW on a retry too.
        """
        obs = video.observation
        stats = video.stats
        now = self._clock()
        values: dict[str, Any] = {
            "kind": "video",
            "video_id": video.video_id,
            "source": video.source,
            "title": obs.title,
            "description": obs.description,
            "tags": list(obs.tags),
            "category_id": obs.category_id,
            "language": obs.language,
            "channel_id": obs.channel_id,
            "channel_title": obs.channel_title,
            "channel_follower_count": obs.channel_follower_count,
            "published_at": iso(obs.published_at) if obs.published_at else None,
            "duration_seconds": obs.duration_seconds,
            "thumbnail_url": video.thumbnail_url,
            "webpage_url": video.webpage_url,
            **_stats_attributes(stats),
            "stats_key": stats.key,
            "last_seen_at": iso(now),
            "last_run": run_id,
        }
        sets = [f"#{k} = :{k}" for k, v in values.items() if v is not None]
        removes = [f"#{k}" for k, v in values.items() if v is None]
        names = {f"#{k}": k for k in values}
        attr_values = {f":{k}": _serializer.serialize(_to_dynamo(v)) for k, v in values.items() if v is not None}
        sets += ["#first_seen_at = if_not_exists(#first_seen_at, :now)", "#first_run = if_not_exists(#first_run, :run)"]
        names.update({"#first_seen_at": "first_seen_at", "#first_run": "first_run", "#topics": "topics"})
        attr_values.update({":now": {"S": iso(now)}, ":run": {"S": run_id}, ":obs": {"S": iso(stats.observed_at)}})
        expression = "SET " + ", ".join(sets)
        if topic is not None:
            expression += " ADD #topics :topics"
            attr_values[":topics"] = {"SS": [normalize_topic(topic)]}
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        names = {k: v for k, v in names.items() if k in expression}
        try:
            response = self._call(
                "update_item",
                TableName=self.table_name,
                Key=_video_key(video.video_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(#pk) OR #observed_at <= :obs",
                ExpressionAttributeNames={**names, "#pk": PARTITION_KEY, "#observed_at": "observed_at"},
                ExpressionAttributeValues=attr_values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if self._is_conditional_failure(error):
                return UpsertOutcome.STALE
            raise StoreError(f"upsert of video {video.video_id} failed: {error}") from error
        old = response.get("Attributes")
        if not old or old.get("first_run", {}).get("S") == run_id:
            return UpsertOutcome.NEW
        return UpsertOutcome.UPDATED

    def append_snapshot(self, snapshot: Snapshot) -> bool:
        """Record one snapshot per video per run; False when this run already recorded it."""
        item = {
            PARTITION_KEY: VIDEO_PREFIX + snapshot.video_id,
            SORT_KEY: f"{SNAPSHOT_PREFIX}{iso(snapshot.run_at)}#{snapshot.run_id}",
            "kind": "snapshot",
            "video_id": snapshot.video_id,
            "run_id": snapshot.run_id,
            "run_at": iso(snapshot.run_at),
            "topic": snapshot.topic,
            "source": snapshot.source,
            **_stats_attributes(snapshot.stats),
        }
        return self._put_if_absent(serialize_item(item), f"snapshot of video {snapshot.video_id}")

    def get_video(self, video_id: str) -> VideoRecord | None:
        item = self._get(_video_key(video_id))
        return video_from_item(item) if item else None

    def list_snapshots(self, video_id: str) -> list[Snapshot]:
        """A video's snapshots, oldest first."""
        snapshots: list[Snapshot] = []
        for item in self._query(
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :snap)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":pk": {"S": VIDEO_PREFIX + video_id}, ":snap": {"S": SNAPSHOT_PREFIX}},
        ):
            snapshots.append(_snapshot_from_item(item))
        return snapshots

    def iter_video_histories(self) -> Iterator[tuple[VideoRecord, list[Snapshot]]]:
        """Every video with its snapshots (oldest first): a full scan, for offline export only."""
        grouped: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "begins_with(#pk, :video)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            "ExpressionAttributeValues": {":video": {"S": VIDEO_PREFIX}},
        }
        while True:
            response = self._call("scan", **kwargs)
            for raw in response.get("Items", []):
                item = deserialize_item(raw)
                entry = grouped.setdefault(str(item[PARTITION_KEY]), {"video": None, "snapshots": []})
                if item[SORT_KEY] == VIDEO_SK:
                    entry["video"] = item
                else:
                    entry["snapshots"].append(item)
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        for entry in grouped.values():
            if entry["video"] is None:
                continue
            snaps = sorted((_snapshot_from_item(s) for s in entry["snapshots"]), key=lambda s: s.stats.observed_at)
            yield video_from_item(entry["video"]), snaps

    # ------------------------------------------------------------------ topics and leaderboards

    def add_topic_membership(self, topic: str, video: ScrapedVideo) -> None:
        """Put the video on ``topic``'s leaderboard (unscored until the scorer writes its score)."""
        topic = normalize_topic(topic)
        obs = video.observation
        now = self._clock()
        values = {
            "kind": "topic_member",
            "topic": topic,
            "video_id": video.video_id,
            "title": obs.title,
            "channel_id": obs.channel_id,
            "channel_title": obs.channel_title,
            "thumbnail_url": video.thumbnail_url,
            "published_at": iso(obs.published_at) if obs.published_at else None,
            **_stats_attributes(video.stats),
            "last_seen_at": iso(now),
            GSI1_PARTITION_KEY: TOPIC_PREFIX + topic,
        }
        sets = [f"#{k} = :{k}" for k, v in values.items() if v is not None]
        removes = [f"#{k}" for k, v in values.items() if v is None]
        sets.append("#gsk = if_not_exists(#gsk, :unscored)")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        names = {f"#{k}": k for k in values} | {"#gsk": GSI1_SORT_KEY}
        attr_values = {f":{k}": _serializer.serialize(_to_dynamo(v)) for k, v in values.items() if v is not None}
        attr_values[":unscored"] = {"S": _unscored_sort_key(now, video.video_id)}
        self._call(
            "update_item",
            TableName=self.table_name,
            Key=_membership_key(topic, video.video_id),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attr_values,
        )

    def list_candidates(
        self,
        topic: str,
        *,
        limit: int = 20,
        min_probability: float | None = None,
        cursor: str | None = None,
        seen_within: timedelta | None = None,
    ) -> CandidatePage:
        """A topic's leaderboard: scored (newest model, highest probability first), then unscored.

        ``min_probability`` keeps scored rows at or above it (unscored rows have no probability and
        are left out); ``seen_within`` keeps rows a scrape saw recently. ``cursor`` is opaque.
        """
        topic = normalize_topic(topic)
        partition = TOPIC_PREFIX + topic
        kwargs: dict[str, Any] = {
            "IndexName": GSI1_NAME,
            "ScanIndexForward": False,
            "ExpressionAttributeNames": {"#gpk": GSI1_PARTITION_KEY},
            "ExpressionAttributeValues": {":gpk": {"S": partition}},
            "KeyConditionExpression": "#gpk = :gpk",
        }
        filters: list[str] = []
        if min_probability is not None:
            kwargs["KeyConditionExpression"] += " AND begins_with(#gsk, :scored)"
            kwargs["ExpressionAttributeNames"]["#gsk"] = GSI1_SORT_KEY
            kwargs["ExpressionAttributeValues"][":scored"] = {"S": "1#"}
            filters.append("#score.#p >= :minp")
            kwargs["ExpressionAttributeNames"].update({"#score": "score", "#p": "viral_probability"})
            kwargs["ExpressionAttributeValues"][":minp"] = _serializer.serialize(_to_dynamo(float(min_probability)))
        if seen_within is not None:
            filters.append("#last_seen >= :since")
            kwargs["ExpressionAttributeNames"]["#last_seen"] = "last_seen_at"
            kwargs["ExpressionAttributeValues"][":since"] = {"S": iso(self._clock() - seen_within)}
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        start_key = self._decode_cursor(cursor, partition) if cursor else None
        items: list[Candidate] = []
        last_key: dict[str, Any] | None = None
        while len(items) < limit:
            page_kwargs = dict(kwargs, TableName=self.table_name, Limit=limit - len(items))
            if start_key:
                page_kwargs["ExclusiveStartKey"] = start_key
            response = self._call("query", **page_kwargs)
            items.extend(_candidate_from_item(deserialize_item(raw)) for raw in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                break
            start_key = last_key
        return CandidatePage(items=items, next_cursor=self._encode_cursor(last_key) if last_key else None)

    @staticmethod
    def _encode_cursor(key: dict[str, Any]) -> str:
        plain = {name: value["S"] for name, value in key.items()}
        return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(cursor: str, partition: str) -> dict[str, Any]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (ValueError, binascii.Error, UnicodeDecodeError) as error:
            raise InvalidCursorError("cursor is not valid") from error
        expected = {PARTITION_KEY, SORT_KEY, GSI1_PARTITION_KEY, GSI1_SORT_KEY}
        if (
            not isinstance(plain, dict)
            or set(plain) != expected
            or not all(isinstance(v, str) for v in plain.values())
            or plain[GSI1_PARTITION_KEY] != partition
            or plain[PARTITION_KEY] != partition
        ):
            raise InvalidCursorError("cursor does not belong to this topic's listing")
        return {name: {"S": value} for name, value in plain.items()}

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self._call("query", TableName=self.table_name, **kwargs)
            for raw in response.get("Items", []):
                yield deserialize_item(raw)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------ scores

    def model_seen_at(self, model_version: str) -> str:
        """When this model version first scored anything (registered once): orders leaderboards by model age."""
        if model_version in self._model_seen_at:
            return self._model_seen_at[model_version]
        key = {PARTITION_KEY: {"S": f"MODEL#{model_version}"}, SORT_KEY: {"S": "MODEL"}}
        now = iso(self._clock())
        item = {**key, "kind": {"S": "model"}, "model_version": {"S": model_version}, "first_seen_at": {"S": now}}
        seen = now
        if not self._put_if_absent(item, "model registry write"):
            existing = self._get(key)
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
        score_value = _serializer.serialize(_to_dynamo(score_to_dict(score)))
        sort_key = _scored_sort_key(self.model_seen_at(score.model_version), score.viral_probability, video.video_id)
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _video_key(video.video_id),
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
                        ":score": score_value,
                        ":stats_key": {"S": video.stats_key},
                        ":mv": {"S": score.model_version},
                    },
                }
            }
        ]
        obs = video.observation
        for topic in video.topics[: MAX_TRANSACTION_ITEMS - 1]:
            values = {
                "kind": "topic_member",
                "topic": topic,
                "video_id": video.video_id,
                "title": obs.title,
                "channel_id": obs.channel_id,
                "channel_title": obs.channel_title,
                "thumbnail_url": video.thumbnail_url,
                "published_at": iso(obs.published_at) if obs.published_at else None,
                **_stats_attributes(video.stats),
                "last_seen_at": iso(video.last_seen_at),
                GSI1_PARTITION_KEY: TOPIC_PREFIX + topic,
                GSI1_SORT_KEY: sort_key,
                "score": score_to_dict(score),
            }
            present = {k: v for k, v in values.items() if v is not None}
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _membership_key(topic, video.video_id),
                        "UpdateExpression": "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(present))),
                        "ExpressionAttributeNames": {f"#a{i}": k for i, k in enumerate(present)},
                        "ExpressionAttributeValues": {
                            f":a{i}": _serializer.serialize(_to_dynamo(v)) for i, v in enumerate(present.values())
                        },
                    }
                }
            )
        try:
            self._call("transact_write_items", TransactItems=actions)
        except ClientError as error:
            if self._is_conditional_failure(error):
                return ScoreWriteOutcome.STALE
            raise StoreError(f"score write for video {video.video_id} failed: {error}") from error
        return ScoreWriteOutcome.WRITTEN

    # ------------------------------------------------------------------ scrape jobs

    def create_job(self, job: ScrapeJob) -> ScrapeJob:
        """Record a job; if a job with this id exists (a retried schedule), return the stored one."""
        item = {
            PARTITION_KEY: f"JOB#{job.job_id}",
            SORT_KEY: "JOB",
            "kind": "scrape_job",
            "job_id": job.job_id,
            "topic": job.request.topic,
            "max_results": job.request.max_results,
            "max_duration_seconds": job.request.max_duration_seconds,
            "status": job.status.value,
            "trigger": job.trigger,
            "created_at": iso(job.created_at),
            "updated_at": iso(job.updated_at),
            "counts": job.counts.as_dict(),
            "errors": list(job.errors),
            "attempts": job.attempts,
            "run_id": job.run_id,
            TTL_ATTRIBUTE: int((job.created_at + timedelta(days=JOB_TTL_DAYS)).timestamp()),
        }
        if not self._put_if_absent(serialize_item(item), f"recording job {job.job_id}"):
            existing = self.get_job(job.job_id)
            if existing is not None:
                return existing
        return job

    def get_job(self, job_id: str) -> ScrapeJob | None:
        item = self._get({PARTITION_KEY: {"S": f"JOB#{job_id}"}, SORT_KEY: {"S": "JOB"}})
        return _job_from_item(item) if item else None

    def start_job(self, job_id: str) -> ScrapeJob:
        """Mark the job running and count the attempt (a redelivered message is attempt 2, 3, ...)."""
        response = self._call(
            "update_item",
            TableName=self.table_name,
            Key={PARTITION_KEY: {"S": f"JOB#{job_id}"}, SORT_KEY: {"S": "JOB"}},
            UpdateExpression="SET #status = :running, #updated = :now ADD #attempts :one",
            ConditionExpression="attribute_exists(#pk)",
            ExpressionAttributeNames={
                "#pk": PARTITION_KEY,
                "#status": "status",
                "#updated": "updated_at",
                "#attempts": "attempts",
            },
            ExpressionAttributeValues={
                ":running": {"S": JobStatus.RUNNING.value},
                ":now": {"S": iso(self._clock())},
                ":one": {"N": "1"},
            },
            ReturnValues="ALL_NEW",
        )
        return _job_from_item(deserialize_item(response["Attributes"]))

    def finish_job(
        self, job_id: str, status: JobStatus, counts: JobCounts, errors: list[str], source: str | None
    ) -> None:
        """Store the outcome of one attempt (counts and errors of that attempt)."""
        values = {
            ":status": status.value,
            ":now": iso(self._clock()),
            ":counts": counts.as_dict(),
            ":errors": [e[:500] for e in errors[:MAX_JOB_ERRORS]],
            ":source": source or "",
        }
        self._call(
            "update_item",
            TableName=self.table_name,
            Key={PARTITION_KEY: {"S": f"JOB#{job_id}"}, SORT_KEY: {"S": "JOB"}},
            UpdateExpression="SET #status = :status, #updated = :now, #counts = :counts, #errors = :errors, "
            "#source = :source",
            ExpressionAttributeNames={
                "#status": "status",
                "#updated": "updated_at",
                "#counts": "counts",
                "#errors": "errors",
                "#source": "source",
            },
            ExpressionAttributeValues={k: _serializer.serialize(_to_dynamo(v)) for k, v in values.items()},
        )

    # ------------------------------------------------------------------ cache

    def get_cached(self, key: str) -> Any | None:
        """A cached JSON value, or None when missing or expired (TTL deletion is lazy, so check it)."""
        item = self._get(self._cache_key(key))
        if not item or int(item.get(TTL_ATTRIBUTE, 0)) <= int(self._clock().timestamp()):
            return None
        return json.loads(str(item["value"]))

    def put_cached(self, key: str, value: Any, ttl_seconds: int) -> None:
        """Cache a JSON-serialisable value for ``ttl_seconds``."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        expires = int(self._clock().timestamp()) + int(ttl_seconds)
        self._call(
            "put_item",
            TableName=self.table_name,
            Item={
                **self._cache_key(key),
                "kind": {"S": "cache"},
                "value": {"S": json.dumps(value, separators=(",", ":"), sort_keys=True)},
                TTL_ATTRIBUTE: {"N": str(expires)},
            },
        )

    @staticmethod
    def _cache_key(key: str) -> dict[str, Any]:
        if not key or len(key) > MAX_CACHE_KEY_CHARS:
            raise ValueError(f"cache key must be 1..{MAX_CACHE_KEY_CHARS} characters")
        return {PARTITION_KEY: {"S": f"CACHE#{key}"}, SORT_KEY: {"S": "CACHE"}}


def _snapshot_from_item(item: Mapping[str, Any]) -> Snapshot:
    return Snapshot(
        video_id=str(item["video_id"]),
        run_id=str(item["run_id"]),
        run_at=parse_iso(str(item["run_at"])),
        stats=VideoStats(
            observed_at=parse_iso(str(item["observed_at"])),
            view_count=_opt_int(item.get("view_count")),
            like_count=_opt_int(item.get("like_count")),
            comment_count=_opt_int(item.get("comment_count")),
        ),
        topic=item.get("topic"),
        source=item.get("source"),
    )
