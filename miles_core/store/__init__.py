"""DynamoDB single-table access: the only package that knows the key layout.

``keys`` builds every key, ``items`` maps records to items and back, ``dynamo`` holds the
value encoding, retries and conditional writes, and ``table.MilesStore`` is the operations facade
everything else uses. ``schema`` is the physical table (``template.yaml`` declares the same).
"""

from miles_core.store.dynamo import deserialize_item
from miles_core.store.errors import InvalidCursorError, StoreError, StoreThrottledError
from miles_core.store.items import is_video_item, video_from_item
from miles_core.store.models import (
    Candidate,
    CandidatePage,
    Cohort,
    DueOutcome,
    DueSnapshot,
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
from miles_core.store.table import MilesStore

__all__ = [
    "Candidate",
    "CandidatePage",
    "Cohort",
    "DueOutcome",
    "DueSnapshot",
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
    "deserialize_item",
    "is_video_item",
    "iso",
    "parse_iso",
    "video_from_item",
]
