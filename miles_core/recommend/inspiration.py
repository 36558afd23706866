"""What a creator needs to judge an inspired-by video: its views, age, growth, and how it compares with its channel.

Why: a title and a viral probability say little; outlier.so's core number, a video's views per hour against
its own channel's usual, tells whether the video broke out or the channel is simply big. Everything here
comes from what Miles itself stored: the leaderboard row (latest views, publish and observation time) and
the video's snapshots (two or more give a growth rate).

The channel comparison uses lifetime views per hour (views / age at the last observation) for the video and
its channel's other stored videos of the topic alike, so the multiple compares like with like; it is given
only when Miles holds at least :data:`MIN_CHANNEL_VIDEOS` of the channel's videos (one or two are no median).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from datetime import datetime

from miles_core.api.schemas.recommend import InspiredBy
from miles_core.recommend.patterns import Candidate

MIN_CHANNEL_VIDEOS = 3
MIN_AGE_HOURS = 1.0
"""Views per hour of a video observed minutes after publishing would be noise: ages are floored at an hour."""
ViewHistory = Callable[[str], list[tuple[datetime, int]]]
"""A video's stored (observed_at, view_count) snapshots, oldest first."""


def age_hours(candidate: Candidate) -> float | None:
    if candidate.published_at is None or candidate.observed_at is None:
        return None
    return max((candidate.observed_at - candidate.published_at).total_seconds() / 3600.0, MIN_AGE_HOURS)


def lifetime_views_per_hour(candidate: Candidate) -> float | None:
    age = age_hours(candidate)
    return None if age is None or candidate.view_count is None else candidate.view_count / age


def growth_views_per_hour(history: Sequence[tuple[datetime, int]]) -> float | None:
    """Views gained per hour between the first and the last snapshot (None with fewer than two)."""
    if len(history) < 2:
        return None
    (first_at, first_views), (last_at, last_views) = history[0], history[-1]
    hours = (last_at - first_at).total_seconds() / 3600.0
    return None if hours <= 0 else max(last_views - first_views, 0) / hours


def channel_multiple(candidate: Candidate, stored: Sequence[Candidate]) -> tuple[int, float | None]:
    """How many of the channel's videos Miles holds (this one included) and the video's multiple of their median."""
    if candidate.channel_id is None:
        return 1, None
    peers = {c.video_id: c for c in stored if c.channel_id == candidate.channel_id}
    peers[candidate.video_id] = candidate
    rates = [rate for c in peers.values() if (rate := lifetime_views_per_hour(c)) is not None]
    own = lifetime_views_per_hour(candidate)
    if len(peers) < MIN_CHANNEL_VIDEOS or own is None or len(rates) < MIN_CHANNEL_VIDEOS:
        return len(peers), None
    median = statistics.median(rates)
    return len(peers), round(own / median, 2) if median > 0 else None


def inspired_by(shown: Sequence[Candidate], stored: Sequence[Candidate], history: ViewHistory) -> list[InspiredBy]:
    """``shown`` (relevant candidates) with their numbers; ``stored`` is every stored video of the topic read."""
    cards = []
    for c in shown:
        snapshots = history(c.video_id)
        growth = growth_views_per_hour(snapshots)
        channel_videos, multiple = channel_multiple(c, stored)
        age = age_hours(c)
        cards.append(
            InspiredBy(
                video_id=c.video_id,
                title=c.title,
                relevance=c.relevance or 0.0,
                channel_title=c.channel_title,
                viral_probability=c.viral_probability,
                predicted_velocity_views_per_hour=c.predicted_velocity_views_per_hour,
                published_at=c.published_at,
                duration_seconds=c.duration_seconds,
                url=f"https://www.youtube.com/watch?v={c.video_id}",
                view_count=c.view_count,
                age_hours=None if age is None else round(age, 1),
                views_per_hour=None if growth is None else round(growth, 1),
                snapshots=len(snapshots),
                channel_videos=channel_videos,
                channel_multiple=multiple,
            )
        )
    return cards
