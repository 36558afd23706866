"""Item mapping: the store's records (``miles_core.store.records``) <-> the attributes of their items.

Both directions live here, side by side, so a field added to a record is added to its item in the
same place. Items are plain values (``dynamo.serialize_item`` encodes them); keys come from
:mod:`miles_core.store.keys`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from miles_core.observation import Observation
from miles_core.store import keys
from miles_core.store.records import (
    Candidate,
    Cohort,
    Score,
    ScrapedVideo,
    Snapshot,
    VideoRecord,
    VideoStats,
    iso,
    parse_iso,
)
from miles_core.store.schema import GSI1_PARTITION_KEY, PARTITION_KEY, SORT_KEY
from miles_core.topics import Topic


def opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def opt_time(value: Any) -> datetime | None:
    return None if not value else parse_iso(str(value))


def stored_topic(value: Any) -> Topic:
    """A topic read back: the store writes only :data:`Topic` values, so it is canonical already."""
    return Topic(str(value))


# ------------------------------------------------------------------------------------ stats and scores


def stats_attributes(stats: VideoStats) -> dict[str, Any]:
    return {
        "observed_at": iso(stats.observed_at),
        "view_count": stats.view_count,
        "like_count": stats.like_count,
        "comment_count": stats.comment_count,
    }


def stats_from_item(item: Mapping[str, Any]) -> VideoStats:
    return VideoStats(
        observed_at=parse_iso(str(item["observed_at"])),
        view_count=opt_int(item.get("view_count")),
        like_count=opt_int(item.get("like_count")),
        comment_count=opt_int(item.get("comment_count")),
    )


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
        "text_embedding": score.text_embedding,
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
        text_embedding=_bytes_or_none(data.get("text_embedding")),
    )


def _bytes_or_none(value: Any) -> bytes | None:
    """A stored Binary (bytes from a read, ``Binary`` or bytes from a stream image) as bytes."""
    return None if value is None else bytes(value)


# ------------------------------------------------------------------------------------ videos and snapshots


def video_attributes(video: ScrapedVideo, *, seen_at: datetime, run_id: str) -> dict[str, Any]:
    """Everything a scrape refreshes on the video item (``None`` = remove: the count became hidden)."""
    obs = video.observation
    return {
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
        "channel_subscribers_read_at": iso(video.channel_subscribers_read_at)
        if video.channel_subscribers_read_at and obs.channel_follower_count is not None
        else None,
        "published_at": iso(obs.published_at) if obs.published_at else None,
        "duration_seconds": obs.duration_seconds,
        "thumbnail_url": video.thumbnail_url,
        "webpage_url": video.webpage_url,
        **stats_attributes(video.stats),
        "stats_key": video.stats.key,
        "last_seen_at": iso(seen_at),
        "last_run": run_id,
    }


def is_video_item(item: Mapping[str, Any]) -> bool:
    """True for a plain (deserialized) video item: what the stream scorer acts on."""
    return keys.is_video_key(item.get(PARTITION_KEY), item.get(SORT_KEY))


def video_from_item(item: Mapping[str, Any]) -> VideoRecord:
    """A deserialized video item (from GetItem or a stream image) -> :class:`VideoRecord`."""
    observation = Observation(
        video_id=str(item["video_id"]),
        title=str(item["title"]),
        description=str(item.get("description") or ""),
        tags=tuple(item.get("tags") or ()),
        category_id=opt_int(item.get("category_id")),
        language=item.get("language"),
        channel_id=item.get("channel_id"),
        channel_title=item.get("channel_title"),
        channel_follower_count=opt_int(item.get("channel_follower_count")),
        published_at=opt_time(item.get("published_at")),
        observed_at=parse_iso(str(item["observed_at"])),
        duration_seconds=None if item.get("duration_seconds") is None else float(item["duration_seconds"]),
        view_count=opt_int(item.get("view_count")),
        like_count=opt_int(item.get("like_count")),
        comment_count=opt_int(item.get("comment_count")),
        thumbnail_url=item.get("thumbnail_url"),
    )
    return VideoRecord(
        video_id=str(item["video_id"]),
        observation=observation,
        source=str(item.get("source") or ""),
        thumbnail_url=item.get("thumbnail_url"),
        webpage_url=item.get("webpage_url"),
        topics=tuple(stored_topic(topic) for topic in item.get("topics") or ()),
        first_seen_at=parse_iso(str(item["first_seen_at"])),
        last_seen_at=parse_iso(str(item["last_seen_at"])),
        stats_key=str(item["stats_key"]),
        score=score_from_dict(item.get("score")),
        cohort=Cohort(str(item["cohort"])) if item.get("cohort") else None,
        channel_subscribers_read_at=opt_time(item.get("channel_subscribers_read_at")),
    )


def snapshot_item(snapshot: Snapshot) -> dict[str, Any]:
    return {
        **keys.snapshot_key(snapshot.video_id, snapshot.run_at, snapshot.run_id),
        "kind": "snapshot",
        "video_id": snapshot.video_id,
        "run_id": snapshot.run_id,
        "run_at": iso(snapshot.run_at),
        "topic": snapshot.topic,
        "source": snapshot.source,
        "fixed_age_hours": snapshot.fixed_age_hours,
        "channel_follower_count": snapshot.channel_subscribers,
        "channel_subscribers_read_at": iso(snapshot.channel_subscribers_read_at)
        if snapshot.channel_subscribers_read_at
        else None,
        **stats_attributes(snapshot.stats),
    }


def snapshot_from_item(item: Mapping[str, Any]) -> Snapshot:
    return Snapshot(
        video_id=str(item["video_id"]),
        run_id=str(item["run_id"]),
        run_at=parse_iso(str(item["run_at"])),
        stats=stats_from_item(item),
        topic=stored_topic(item["topic"]) if item.get("topic") else None,
        source=item.get("source"),
        fixed_age_hours=opt_int(item.get("fixed_age_hours")),
        channel_subscribers=opt_int(item.get("channel_follower_count")),
        channel_subscribers_read_at=opt_time(item.get("channel_subscribers_read_at")),
    )


# ------------------------------------------------------------------------------------ leaderboards


def membership_attributes(topic: Topic, video: ScrapedVideo | VideoRecord, *, seen_at: datetime) -> dict[str, Any]:
    """A leaderboard row's display fields: enough to list candidates without reading each video."""
    obs = video.observation
    return {
        "kind": "topic_member",
        "topic": topic,
        "video_id": video.video_id,
        "title": obs.title,
        "channel_id": obs.channel_id,
        "channel_title": obs.channel_title,
        "thumbnail_url": video.thumbnail_url,
        "published_at": iso(obs.published_at) if obs.published_at else None,
        **stats_attributes(video.stats),
        "last_seen_at": iso(seen_at),
        GSI1_PARTITION_KEY: keys.topic_partition(topic),
    }


def candidate_from_item(item: Mapping[str, Any]) -> Candidate:
    return Candidate(
        topic=stored_topic(item["topic"]),
        video_id=str(item["video_id"]),
        title=str(item["title"]),
        channel_id=item.get("channel_id"),
        channel_title=item.get("channel_title"),
        thumbnail_url=item.get("thumbnail_url"),
        published_at=opt_time(item.get("published_at")),
        stats=stats_from_item(item),
        last_seen_at=parse_iso(str(item["last_seen_at"])),
        score=score_from_dict(item.get("score")),
        relevance=opt_float(item.get("relevance")),
    )


# ------------------------------------------------------------------------------------ scrape jobs
