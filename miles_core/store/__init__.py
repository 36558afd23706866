"""DynamoDB single-table access: the only package that knows the key layout.

``records`` are the typed records callers pass and receive, ``keys`` builds every key, ``items``
maps records to items and back, ``dynamo`` holds the value encoding, retries and conditional
writes, and ``facade.MilesStore`` is the operations facade everything else uses (``shared.store()``
is the per-container one the handlers share). ``schema`` is the physical table (``template.yaml``
declares the same).
"""

from miles_core.store.accuracy_repo import KeptScore, SettledScore
from miles_core.store.dynamo import deserialize_item
from miles_core.store.exceptions import InvalidCursorError, StoreError, StoreThrottledError
from miles_core.store.facade import MilesStore
from miles_core.store.items import is_video_item, video_from_item
from miles_core.store.job_records import FailureCause, JobCounts, JobStatus, ScrapeJob, ScrapeJobRequest
from miles_core.store.records import (
    Candidate,
    CandidatePage,
    Cohort,
    DueOutcome,
    DueSnapshot,
    Score,
    ScoreWriteOutcome,
    ScrapedVideo,
    Snapshot,
    UpsertOutcome,
    VideoRecord,
    VideoStats,
    iso,
    parse_iso,
)

__all__ = [
    "Candidate",
    "CandidatePage",
    "Cohort",
    "DueOutcome",
    "DueSnapshot",
    "FailureCause",
    "InvalidCursorError",
    "JobCounts",
    "JobStatus",
    "KeptScore",
    "MilesStore",
    "Score",
    "ScoreWriteOutcome",
    "ScrapeJob",
    "ScrapeJobRequest",
    "ScrapedVideo",
    "SettledScore",
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
