"""In-memory implementations of the recommender's ports.

For tests and for running the recommender without a table (e.g. a notebook). They follow the
same contracts as the DynamoDB-backed adapter: candidates best-first, cache entries expire.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from miles_core.recommend.patterns import Candidate
from miles_core.topics import Topic


def _utcnow() -> datetime:
    return datetime.now(UTC)


class InMemoryCandidates:
    """Candidates per topic, served highest viral probability first."""

    def __init__(
        self,
        by_topic: dict[Topic, Iterable[Candidate]] | None = None,
        histories: dict[str, list[tuple[datetime, int]]] | None = None,
    ) -> None:
        self.by_topic: dict[Topic, list[Candidate]] = {topic: list(items) for topic, items in (by_topic or {}).items()}
        self.histories = histories or {}
        self.calls: list[tuple[Topic, int]] = []

    def view_history(self, video_id: str) -> list[tuple[datetime, int]]:
        return list(self.histories.get(video_id, []))

    def top_candidates(self, topic: Topic, limit: int) -> list[Candidate]:
        self.calls.append((topic, limit))
        items = self.by_topic.get(topic, [])
        ranked = sorted(items, key=lambda c: (-(c.viral_probability or -1.0), c.video_id))
        return ranked[:limit]


class InMemoryCache:
    """A TTL cache; values are JSON round-tripped so tests see exactly what a real store would return."""

    def __init__(self, clock: Callable[[], datetime] = _utcnow) -> None:
        self.clock = clock
        self.entries: dict[str, tuple[float, str]] = {}
        self.gets = 0
        self.puts = 0

    def get(self, key: str) -> dict[str, Any] | None:
        self.gets += 1
        entry = self.entries.get(key)
        if entry is None or entry[0] <= self.clock().timestamp():
            return None
        value: dict[str, Any] = json.loads(entry[1])
        return value

    def put(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        self.puts += 1
        self.entries[key] = (self.clock().timestamp() + ttl_seconds, json.dumps(copy.deepcopy(value)))


class InMemoryScrapeRequester:
    """Records requested topics and hands out sequential job ids."""

    def __init__(self) -> None:
        self.requested: list[Topic] = []

    def request_scrape(self, topic: Topic) -> str:
        self.requested.append(topic)
        return f"job-{len(self.requested)}"
