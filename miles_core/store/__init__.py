"""DynamoDB single-table access: the only package that knows the key layout (see ``table.py``)."""

from miles_core.store.errors import InvalidCursorError, StoreError, StoreThrottledError
from miles_core.store.models import (
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
from miles_core.store.table import MilesStore, is_video_item, video_from_item

__all__ = [
    "Candidate",
    "CandidatePage",
    "InvalidCursorError",
    "JobCounts",
    "JobStatus",
    "MilesStore",
    "Score",
    "ScoreWriteOutcome",
    "ScrapeJob",
    "ScrapeJobRequest",
    "ScrapedVideo",
    "Snapshot",
    "StoreError",
    "StoreThrottledError",
    "UpsertOutcome",
    "VideoRecord",
    "VideoStats",
    "is_video_item",
    "iso",
    "parse_iso",
    "video_from_item",
]
