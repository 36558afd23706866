"""Snapshots at fixed ages after publication: what turns Miles' own scrapes into labelled training rows.

A search sees a video at whatever age it happens to be, and sees it again only if a later search
happens to find it. For a label (views gained between two known ages) every tracked video is re-read
at the same ages after publication, :data:`FIXED_AGES_HOURS`:

* **1 h**: the earliest reading a creator has of an upload; the fresh cohort's first sighting is
  usually inside the first hour (its search asks for the newest uploads first);
* **6 h**: the first reading a 6-hourly schedule can promise for every fresh upload it finds
  (its window is the last 6 hours);
* **24 h**: a day after the 1 h reading, the benchmark's label horizon (its next-day snapshots came
  22-27 h after t0; 1 h -> 24 h is 23 h, inside the 18-30 h outcome window);
* **48 h**: a second day, so the 24 h reading gets a next-day label too (24 h -> 48 h).

When a video is first stored, the ages still ahead of it are scheduled (one due entry per age,
:mod:`miles_core.store.fixed_age_repo`); a video older than 48 h (the top of a search, mostly days
old) has none left and costs nothing. The job (EventBridge, every 15 minutes) reads the entries due
now, batches their ids 50 to a ``videos.list`` call (1 unit; plus 1 unit per 50 channels for their
subscriber counts), each call spent on the daily quota counter before it is made, and writes one
snapshot per video and age, keyed by the age (``run_at`` = publication + age, run ``age-<N>h``), so
a repeated run adds nothing. The read also refreshes the video item (latest stats, so the scorer
re-scores it, and the retention clock restarts as for any refresh). An entry is taken between its
due time and its tolerance after it (a quarter of the age, at least 30 minutes: a 24 h reading is
taken 24-30 h after publication); one the job could not take by then is settled as missed, never
taken late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from miles_core.scraping.base import SearchResult, SourceError
from miles_core.store import DueOutcome, DueSnapshot, MilesStore, ScrapedVideo, StoreError

logger = logging.getLogger(__name__)

FIXED_AGES_HOURS = (1, 6, 24, 48)
MIN_TOLERANCE = timedelta(minutes=30)


class VideoReader(Protocol):
    """Reads known videos by id (``YouTubeDataApiSource.read``); its calls spend the daily quota."""

    name: str
    quota_used: int

    def read(self, video_ids: list[str]) -> SearchResult: ...


def tolerance(age_hours: int) -> timedelta:
    """How late after its due time a fixed-age snapshot may still be taken."""
    return max(MIN_TOLERANCE, timedelta(hours=age_hours) / 4)


LOOKBACK = max(tolerance(age) for age in FIXED_AGES_HOURS)
"""How far back the job looks for unsettled entries (the longest tolerance)."""


def run_id(age_hours: int) -> str:
    return f"age-{age_hours}h"


def schedule_video(store: MilesStore, video: ScrapedVideo, now: datetime) -> int:
    """Schedule the fixed ages still ahead of a newly stored video; returns how many were scheduled."""
    published = video.observation.published_at
    if published is None:
        return 0
    ahead = [
        (age, published + timedelta(hours=age), tolerance(age))
        for age in FIXED_AGES_HOURS
        if published + timedelta(hours=age) > now
    ]
    return store.fixed_ages.schedule(video.video_id, ahead) if ahead else 0


@dataclass
class FixedAgeOutcome:
    """What one run of the job did (logged and returned by the handler)."""

    due: int = 0
    taken: int = 0
    missed: int = 0
    gone: int = 0
    quota_units: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "taken": self.taken,
            "missed": self.missed,
            "gone": self.gone,
            "quota_units": self.quota_units,
            "errors": self.errors[:5],
        }


def run_fixed_age_snapshots(store: MilesStore, reader: VideoReader | None, now: datetime) -> FixedAgeOutcome:
    """Take every fixed-age snapshot due at ``now`` (see the module docstring); safe to repeat."""
    outcome = FixedAgeOutcome()
    entries = store.fixed_ages.due(now, LOOKBACK)
    outcome.due = len(entries)
    late = [e for e in entries if now > e.due_at + tolerance(e.age_hours)]
    ready = [e for e in entries if now <= e.due_at + tolerance(e.age_hours)]
    outcome.missed = store.fixed_ages.settle(late, DueOutcome.MISSED)
    if not ready:
        return outcome
    if reader is None:
        outcome.errors.append("no YouTube Data API source (MILES_YOUTUBE_SECRET_ID): fixed-age snapshots need it")
        return outcome
    try:
        result = reader.read(list(dict.fromkeys(e.video_id for e in ready)))
    except SourceError as error:  # quota spent or the API down: the entries wait, within their tolerance
        outcome.errors.append(str(error))
        outcome.quota_units = reader.quota_used
        return outcome
    outcome.quota_units = reader.quota_used
    videos = {video.video_id: video for video in result.videos}
    gone = [e for e in ready if e.video_id not in videos]
    outcome.gone = store.fixed_ages.settle(gone, DueOutcome.GONE)
    for entry in ready:
        if entry.video_id in videos:
            outcome.taken += _take(store, videos[entry.video_id], entry, outcome)
    logger.info("fixed-age snapshots: %s", outcome.as_dict())
    return outcome


def _take(store: MilesStore, video: ScrapedVideo, entry: DueSnapshot, outcome: FixedAgeOutcome) -> int:
    """Write the snapshot of one (video, age) and settle its entry; 1 when this call settled it."""
    run = run_id(entry.age_hours)
    try:
        store.upsert_video(video, topic=None, run_id=run)
        store.append_snapshot(video.snapshot(run, entry.due_at, fixed_age_hours=entry.age_hours))
        return store.fixed_ages.settle([entry], DueOutcome.TAKEN)
    except StoreError as error:  # the entry stays due: the next run (within its tolerance) retries it
        outcome.errors.append(f"video {video.video_id} at {entry.age_hours} h: {error}")
        return 0
