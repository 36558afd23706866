"""Topic leaderboards and scores: membership rows per (topic, video), ranked by model age and probability.

A score is written onto the video and all its leaderboard rows in one transaction, exactly once per
(stats, model): the conditions keep the stream scorer from re-scoring its own output.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from miles_core.store import items, keys
from miles_core.store.dynamo import (
    Clock,
    DynamoTable,
    Retention,
    UpdateParts,
    deserialize_item,
    serialize_item,
    serialize_value,
    set_attributes,
)
from miles_core.store.records import (
    MAX_TOPICS_PER_VIDEO,
    CandidatePage,
    Score,
    ScoreWriteOutcome,
    ScrapedVideo,
    VideoRecord,
    iso,
)
from miles_core.store.registry_repo import ModelRegistry
from miles_core.store.schema import GSI1_NAME, GSI1_PARTITION_KEY, GSI1_SORT_KEY, TTL_ATTRIBUTE
from miles_core.topics import Topic

MAX_CANDIDATE_PAGES = 3
"""DynamoDB queries one ``list_candidates`` call may make (bounded work per API request)."""


class LeaderboardRepository:
    """Leaderboard rows (the GSI1 index) and the score writes that rank them."""

    def __init__(self, table: DynamoTable, clock: Clock, retention: Retention, registry: ModelRegistry) -> None:
        self.table = table
        self._clock = clock
        self._retention = retention
        self._registry = registry

    def add_topic_membership(self, topic: Topic, video: ScrapedVideo) -> None:
        """Put the video on ``topic``'s leaderboard (unscored until the scorer writes its score)."""
        now = self._clock()
        parts = set_attributes(
            {
                **items.membership_attributes(topic, video, seen_at=now),
                TTL_ATTRIBUTE: self._retention.expires(video.stats.observed_at),
            },
            extra_sets=("#gsk = if_not_exists(#gsk, :unscored)",),
            remove_none=True,
        )
        self.table.update(
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
        min_relevance: float | None = None,
    ) -> CandidatePage:
        """A topic's leaderboard: scored (newest model, highest probability first), then unscored.

        ``min_probability`` keeps scored rows at or above it (unscored rows have no probability and
        are left out); ``seen_within`` keeps rows a scrape saw recently; ``min_relevance`` keeps rows whose
        video is about the topic at or above it (measured with the score; unscored rows are left out).
        ``cursor`` is opaque.

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
        if min_relevance is not None:
            filters.append("#relevance >= :minrel")
            names["#relevance"] = "relevance"
            values[":minrel"] = serialize_value(float(min_relevance))
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

    def write_score(
        self, video: VideoRecord, score: Score, relevance: Mapping[Topic, float | None] | None = None
    ) -> ScoreWriteOutcome:
        """Write ``score`` onto the video and its leaderboard rows, atomically (one transaction; one update if none).

        ``relevance`` is the video's relevance to each of its topics (``miles_core.relevance``), written onto
        that topic's row: a row without one (no embedding, or another encoder's) has its old value removed.

        Conditions make it exactly-once per (stats, model): the video's stats must still be the
        ones scored (else a newer stream record is on its way) and no score from the same model
        for the same stats may exist (a redelivered record). The write changes only ``score``, so
        the stream record it causes carries a current score and the scorer skips it: no loop.
        """
        if score.stats_key != video.stats_key:
            raise ValueError("score was computed from other stats than the video's")
        score_value = items.score_to_dict(score)
        seen_at = self._registry.model_seen_at(score.model_version)
        rank = keys.scored_rank(seen_at, score.viral_probability, video.video_id)
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
                "relevance": (relevance or {}).get(topic),
                TTL_ATTRIBUTE: self._retention.expires(video.stats.observed_at),  # expires with the data it shows
            }
            parts = set_attributes(row, remove_none=True)
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
        what = f"score write for video {video.video_id}"
        if len(actions) == 1:  # no leaderboard row: one conditional update (a transaction costs twice the writes)
            written = self.table.conditional(what, "update_item", **video_update)
        else:
            written = self.table.conditional(what, "transact_write_items", TransactItems=actions)
        return ScoreWriteOutcome.WRITTEN if written is not None else ScoreWriteOutcome.STALE
