"""Every key of the Miles table, built here and nowhere else.

| kind | PK | SK | GSI1PK / GSI1SK |
|---|---|---|---|
| video (latest metadata + stats + score) | ``VIDEO#<id>`` | ``META`` | - |
| snapshot (counts per scrape run) | ``VIDEO#<id>`` | ``SNAP#<run_at>#<run_id>`` | - |
| topic membership (leaderboard row) | ``TOPIC#<topic>`` | ``VIDEO#<id>`` | ``TOPIC#<topic>`` / a rank |
| scrape job | ``JOB#<id>`` | ``JOB`` | - |
| cache entry (TTL) | ``CACHE#<key>`` | ``CACHE`` | - |
| model registry | ``MODEL#<version>`` | ``MODEL`` | - |
| scrape dedupe slot (TTL) | ``JOBSLOT#<topic>#<max_results>#<max_duration>`` | ``JOBSLOT`` | - |
| daily quota counter (TTL) | ``QUOTA#<service>`` | ``DAY#<yyyy-mm-dd>`` (UTC) | - |
| fixed-age snapshot due (TTL) | ``DUE#<yyyy-mm-ddThh>`` (hour it is due) | ``<due_at>#<video id>#<age>`` | - |
| kept score (TTL) | ``SCORES#<id>`` | ``KEPT#<observed_at>#<regime>#<model>`` | - |
| settled score (TTL) | ``SCORES#<id>`` | ``SETTLED#<observed_at>#<regime>#<model>`` | ``ACCURACY`` / time |

Why these shapes: a video and its snapshots share a partition, so one query returns a video's
history (``export-dataset``); snapshot keys contain the run, so a repeated write in the same run is
a no-op under ``attribute_not_exists`` and a new run adds a row. A leaderboard rank starts with
``1#`` (scored: ``1#<model_first_seen>#<probability>#<id>``) or ``0#`` (unscored:
``0#<last_seen>#<id>``), so a descending query lists scored rows first, newest model first, highest
probability first, and unscored rows stay visible after them. Only video items (``SK = META``)
reach the scorer (the template's stream filter and the local stack's poller both ask
:func:`is_video_key`).

A fixed-age snapshot that is due sits in the partition of the hour it is due, so the re-snapshot
job reads the last few hours' partitions with one query each (``SK <= now``), never a scan.

A kept score (what the stream scorer predicted from one set of stats) and its settled pair (the
same score with the outcome seen ~24 h later) share a partition apart from the video's, so the
scorer finds a video's open scores with one Query and the export's scan (filtered to ``VIDEO#``
partitions) never keeps them; their keys hold the scored stats' time, regime and model, so keeping or settling
twice is a no-op under ``attribute_not_exists``. Settled pairs are listed by the time they settled
on GSI1 (partition ``ACCURACY``): ``GET /model/accuracy`` reads its window with one Query.

Keys are plain ``{attribute: string}`` dicts; :mod:`miles_core.store.dynamo` encodes them.
Pagination cursors are the last key of a page, base64-encoded, and checked on the way back in.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime

from miles_core.store.exceptions import InvalidCursorError
from miles_core.store.records import iso
from miles_core.store.schema import GSI1_PARTITION_KEY, GSI1_SORT_KEY, PARTITION_KEY, SORT_KEY
from miles_core.topics import Topic

Key = dict[str, str]

VIDEO_PREFIX = "VIDEO#"
VIDEO_SORT_KEY = "META"
SNAPSHOT_PREFIX = "SNAP#"
TOPIC_PREFIX = "TOPIC#"
SCORED_RANK_PREFIX = "1#"
UNSCORED_RANK_PREFIX = "0#"
MAX_CACHE_KEY_CHARS = 1000


def video_partition(video_id: str) -> str:
    """The partition of a video: its item and its snapshots."""
    return VIDEO_PREFIX + video_id


def video_key(video_id: str) -> Key:
    return {PARTITION_KEY: video_partition(video_id), SORT_KEY: VIDEO_SORT_KEY}


def is_video_key(partition_key: object, sort_key: object) -> bool:
    """True for a video item's key (not a snapshot, membership, job...): what the scorer acts on."""
    return str(partition_key or "").startswith(VIDEO_PREFIX) and sort_key == VIDEO_SORT_KEY


def snapshot_key(video_id: str, run_at: datetime, run_id: str) -> Key:
    return {PARTITION_KEY: video_partition(video_id), SORT_KEY: f"{SNAPSHOT_PREFIX}{iso(run_at)}#{run_id}"}


def topic_partition(topic: Topic) -> str:
    """A topic's leaderboard partition (canonical already, so ``Cooking`` = ``cooking``)."""
    return TOPIC_PREFIX + topic


def membership_key(topic: Topic, video_id: str) -> Key:
    return {PARTITION_KEY: topic_partition(topic), SORT_KEY: VIDEO_PREFIX + video_id}


def unscored_rank(last_seen_at: datetime, video_id: str) -> str:
    """GSI1SK of a leaderboard row before the scorer reaches it."""
    return f"{UNSCORED_RANK_PREFIX}{iso(last_seen_at)}#{video_id}"


def scored_rank(model_seen_at: str, probability: float, video_id: str) -> str:
    """GSI1SK of a scored leaderboard row (fixed-width probability, so it sorts as a string)."""
    return f"{SCORED_RANK_PREFIX}{model_seen_at}#{probability:.6f}#{video_id}"


SCORES_PREFIX = "SCORES#"
KEPT_PREFIX = "KEPT#"
SETTLED_PREFIX = "SETTLED#"
ACCURACY_PARTITION = "ACCURACY"


def scores_partition(video_id: str) -> str:
    """The partition of a video's kept and settled scores."""
    return SCORES_PREFIX + video_id


def _score_suffix(observed_at: datetime, regime: str, model_version: str) -> str:
    return f"{iso(observed_at)}#{regime}#{model_version}"


def kept_score_key(video_id: str, observed_at: datetime, regime: str, model_version: str) -> Key:
    """A score kept until its outcome arrives: one per (scored stats, regime, model)."""
    suffix = _score_suffix(observed_at, regime, model_version)
    return {PARTITION_KEY: scores_partition(video_id), SORT_KEY: KEPT_PREFIX + suffix}


def settled_score_key(video_id: str, observed_at: datetime, regime: str, model_version: str) -> Key:
    """A kept score paired with its outcome: at most one per kept score."""
    suffix = _score_suffix(observed_at, regime, model_version)
    return {PARTITION_KEY: scores_partition(video_id), SORT_KEY: SETTLED_PREFIX + suffix}


def accuracy_rank(settled_at: datetime, video_id: str, observed_at: datetime, regime: str, model_version: str) -> str:
    """GSI1SK of a settled score: its settling time first, so a window is one key range."""
    return f"{iso(settled_at)}#{video_id}#{_score_suffix(observed_at, regime, model_version)}"


def job_key(job_id: str) -> Key:
    return {PARTITION_KEY: f"JOB#{job_id}", SORT_KEY: "JOB"}


def job_slot_key(topic: Topic, max_results: int, max_duration_seconds: int | None) -> Key:
    """The dedupe slot of identical scrape requests (same topic and limits), whoever asked."""
    duration = "any" if max_duration_seconds is None else str(max_duration_seconds)
    return {PARTITION_KEY: f"JOBSLOT#{topic}#{max_results}#{duration}", SORT_KEY: "JOBSLOT"}


def quota_key(service: str, day: str) -> Key:
    """The counter of ``service``'s quota units spent on one UTC ``day`` (``YYYY-MM-DD``)."""
    return {PARTITION_KEY: f"QUOTA#{service}", SORT_KEY: f"DAY#{day}"}


DUE_PREFIX = "DUE#"


def due_partition(hour: datetime) -> str:
    """The partition of the fixed-age snapshots due within ``hour`` (UTC, truncated to the hour)."""
    return DUE_PREFIX + iso(hour)[:13]


def due_key(due_at: datetime, video_id: str, age_hours: int) -> Key:
    return {PARTITION_KEY: due_partition(due_at), SORT_KEY: f"{iso(due_at)}#{video_id}#{age_hours}"}


def due_until(moment: datetime) -> str:
    """Sort-key bound of every entry due at or before ``moment`` (``~`` sorts after the id characters)."""
    return f"{iso(moment)}#~"


def model_key(model_version: str) -> Key:
    return {PARTITION_KEY: f"MODEL#{model_version}", SORT_KEY: "MODEL"}


def cache_key(key: str) -> Key:
    if not key or len(key) > MAX_CACHE_KEY_CHARS:
        raise ValueError(f"cache key must be 1..{MAX_CACHE_KEY_CHARS} characters")
    return {PARTITION_KEY: f"CACHE#{key}", SORT_KEY: "CACHE"}


_CURSOR_ATTRIBUTES = frozenset({PARTITION_KEY, SORT_KEY, GSI1_PARTITION_KEY, GSI1_SORT_KEY})


def encode_cursor(last_key: Mapping[str, str]) -> str:
    """An opaque cursor for the leaderboard page after ``last_key`` (a GSI1 ``LastEvaluatedKey``)."""
    return base64.urlsafe_b64encode(json.dumps(dict(last_key), sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, partition: str) -> Key:
    """The key a cursor stands for; :class:`InvalidCursorError` unless this store made it for ``partition``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursorError("cursor is not valid") from error
    if (
        not isinstance(plain, dict)
        or set(plain) != _CURSOR_ATTRIBUTES
        or not all(isinstance(v, str) for v in plain.values())
        or plain[GSI1_PARTITION_KEY] != partition
        or plain[PARTITION_KEY] != partition
    ):
        raise InvalidCursorError("cursor does not belong to this topic's listing")
    return {str(name): str(value) for name, value in plain.items()}
