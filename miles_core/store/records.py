"""Typed records the store reads and writes.

Callers never see DynamoDB keys or attribute-value encodings: they pass and receive these
dataclasses. Timestamps are timezone-aware UTC ``datetime`` objects; the store turns them into
fixed-width ISO-8601 strings so they also sort correctly inside sort keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from miles_core.observation import Observation
from miles_core.topics import Topic

MAX_TOPICS_PER_VIDEO = 8
"""A video joins at most this many topics (the first ones it was found under): every new topic would
grow its item towards DynamoDB's 400 KB limit and add a leaderboard row to each of its score writes."""


def iso(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601 with a ``Z`` suffix, second precision: sortable as a string."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the store only accepts timezone-aware timestamps")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Inverse of :func:`iso` (also accepts offsets and fractional seconds)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class VideoStats:
    """The public counts of one video at one moment. ``None`` = hidden or unknown, never zero."""

    observed_at: datetime
    view_count: int | None
    like_count: int | None = None
    comment_count: int | None = None

    @property
    def key(self) -> str:
        """Identity of these stats: the scorer compares it to decide whether a score is current."""
        return f"{iso(self.observed_at)}|{self.view_count}|{self.like_count}|{self.comment_count}"


class Cohort(StrEnum):
    """How a video entered tracking: what the training population of each exported row is.

    ``top``: the top of a niche search (mostly older, already popular videos); ``fresh``: the newest
    short uploads of the niche, found within hours of publication (the population a creator's own
    upload belongs to). A video keeps the cohort it was first found in.
    """

    TOP = "top"
    FRESH = "fresh"


@dataclass(frozen=True)
class ScrapedVideo:
    """What a source found about one video: the canonical observation plus display fields.

    ``channel_subscribers_read_at`` is when ``observation.channel_follower_count`` was read (a
    channel's count is read separately from the video's, and changes on its own clock).
    """

    observation: Observation
    source: str
    thumbnail_url: str | None = None
    webpage_url: str | None = None
    cohort: Cohort | None = None
    channel_subscribers_read_at: datetime | None = None

    @property
    def video_id(self) -> str:
        if not self.observation.video_id:
            raise ValueError("a scraped video needs a video_id")
        return self.observation.video_id

    @property
    def stats(self) -> VideoStats:
        obs = self.observation
        if obs.observed_at is None:
            raise ValueError("a scraped video needs observed_at")
        return VideoStats(obs.observed_at, obs.view_count, obs.like_count, obs.comment_count)

    def snapshot(
        self, run_id: str, run_at: datetime, *, topic: Topic | None = None, fixed_age_hours: int | None = None
    ) -> Snapshot:
        """This reading as one run's snapshot (its stats and its channel's subscriber count)."""
        return Snapshot(
            video_id=self.video_id,
            run_id=run_id,
            run_at=run_at,
            stats=self.stats,
            topic=topic,
            source=self.source,
            fixed_age_hours=fixed_age_hours,
            channel_subscribers=self.observation.channel_follower_count if self.channel_subscribers_read_at else None,
            channel_subscribers_read_at=self.channel_subscribers_read_at,
        )


@dataclass(frozen=True)
class Score:
    """A model's output for one video, with the exact stats and model version it used."""

    viral_probability: float
    predicted_velocity_views_per_hour: float
    is_viral: bool
    threshold: float
    regime: str
    model_version: str
    scored_at: datetime
    stats_key: str
    stats: dict[str, Any] = field(default_factory=dict)
    text_embedding: bytes | None = None
    """The model's embedding of the video's text (``miles_core.relevance.pack_embedding``), stored with the
    score so topic relevance never re-encodes a stored video."""


@dataclass(frozen=True)
class VideoRecord:
    """The video item: latest metadata, latest stats, topics it was found under, current score."""

    video_id: str
    observation: Observation
    source: str
    thumbnail_url: str | None
    webpage_url: str | None
    topics: tuple[Topic, ...]
    first_seen_at: datetime
    last_seen_at: datetime
    stats_key: str
    score: Score | None
    cohort: Cohort | None = None
    channel_subscribers_read_at: datetime | None = None

    @property
    def stats(self) -> VideoStats:
        obs = self.observation
        assert obs.observed_at is not None
        return VideoStats(obs.observed_at, obs.view_count, obs.like_count, obs.comment_count)

    @property
    def score_is_current(self) -> bool:
        """True when a score exists and was computed from the current stats (model not checked)."""
        return self.score is not None and self.score.stats_key == self.stats_key


@dataclass(frozen=True)
class Snapshot:
    """One metric snapshot: the counts of one video as seen by one scrape run."""

    video_id: str
    run_id: str
    run_at: datetime
    stats: VideoStats
    topic: Topic | None = None
    source: str | None = None
    fixed_age_hours: int | None = None
    """Set on the re-snapshot job's snapshots: the fixed age (hours after publication) it was taken for."""
    channel_subscribers: int | None = None
    """The channel's subscriber count read with these stats (an exported row's t0 value, not a later one)."""
    channel_subscribers_read_at: datetime | None = None


@dataclass(frozen=True)
class DueSnapshot:
    """A fixed-age snapshot to take: ``video_id`` as it is ``age_hours`` after publication (at ``due_at``)."""

    video_id: str
    age_hours: int
    due_at: datetime


class DueOutcome(StrEnum):
    """How a due fixed-age snapshot was settled (each is settled once)."""

    TAKEN = "taken"
    MISSED = "missed"
    """Not read within its tolerance (the job did not run, or the quota was spent): never taken late."""
    GONE = "gone"
    """The API no longer returns the video (deleted or made private)."""


class UpsertOutcome(StrEnum):
    """What :meth:`MilesStore.upsert_video` did."""

    NEW = "new"
    """The video was first seen by this run."""
    UPDATED = "updated"
    """The video existed; its latest stats and metadata were refreshed."""
    STALE = "stale"
    """The stored stats are newer than these (an out-of-order write); nothing changed."""
    UPDATED_OFF_TOPIC = "updated_off_topic"
    """Refreshed like UPDATED, but the video already belongs to :data:`MAX_TOPICS_PER_VIDEO` other
    topics, so it does not join this one (and gets no leaderboard row on it)."""


class ScoreWriteOutcome(StrEnum):
    """What :meth:`MilesStore.write_score` did."""

    WRITTEN = "written"
    STALE = "stale"
    """The video's stats changed after they were read, or the same model already scored them."""


@dataclass(frozen=True)
class Candidate:
    """One entry of a topic leaderboard (``GET /candidates``). Unscored entries carry ``score=None``."""

    topic: Topic
    video_id: str
    title: str
    channel_id: str | None
    channel_title: str | None
    thumbnail_url: str | None
    published_at: datetime | None
    stats: VideoStats
    last_seen_at: datetime
    score: Score | None
    relevance: float | None = None
    """Cosine of the video's and the topic's embeddings, measured with the score (``miles_core.relevance``)."""

    def as_public_dict(self) -> dict[str, Any]:
        score = self.score
        return {
            "video_id": self.video_id,
            "topic": self.topic,
            "title": self.title,
            "channel_id": self.channel_id,
            "channel_title": self.channel_title,
            "thumbnail_url": self.thumbnail_url,
            "url": f"https://www.youtube.com/watch?v={self.video_id}",
            "published_at": iso(self.published_at) if self.published_at else None,
            "last_seen_at": iso(self.last_seen_at),
            "stats": {
                "observed_at": iso(self.stats.observed_at),
                "view_count": self.stats.view_count,
                "like_count": self.stats.like_count,
                "comment_count": self.stats.comment_count,
            },
            "scored": score is not None,
            "viral_probability": score.viral_probability if score else None,
            "is_viral": score.is_viral if score else None,
            "predicted_velocity_views_per_hour": score.predicted_velocity_views_per_hour if score else None,
            "model_version": score.model_version if score else None,
            "scored_at": iso(score.scored_at) if score else None,
            "score_is_current": bool(score and score.stats_key == self.stats.key),
            "relevance": self.relevance,
        }


@dataclass(frozen=True)
class CandidatePage:
    items: list[Candidate]
    next_cursor: str | None
