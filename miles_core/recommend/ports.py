"""The small interfaces the recommender needs from the rest of Miles.

The recommender is written against these protocols, not against DynamoDB or the ONNX session, so
it can be tested with in-memory fakes and so the storage layout stays the store's business
(``store_adapter.py`` binds them to ``miles_core.store``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from miles_core.observation import Observation
from miles_core.recommend.patterns import Candidate
from miles_core.topics import Topic

if TYPE_CHECKING:  # the predictor module imports onnxruntime; the protocol only names its result type
    from miles_core.inference.predictor import Prediction


class CandidateSource(Protocol):
    """Top-scored videos of a topic."""

    def top_candidates(self, topic: Topic, limit: int) -> list[Candidate]:
        """Up to ``limit`` candidates of ``topic``, highest viral probability first.

        Returns recent and older videos alike; the recommender decides what counts as fresh.
        """
        ...

    def view_history(self, video_id: str) -> list[tuple[datetime, int]]:
        """The video's stored (observed_at, view_count) snapshots, oldest first (counts hidden: left out)."""
        ...


class ResultCache(Protocol):
    """A key/value cache whose entries expire after a TTL."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached JSON document, or ``None`` when absent or expired."""
        ...

    def put(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        """Store ``value`` (JSON-compatible) for ``ttl_seconds``."""
        ...


class ScrapeRequester(Protocol):
    """Asks the scrape area to collect fresh candidates for a topic."""

    def request_scrape(self, topic: Topic) -> str:
        """Record/enqueue a scrape job for ``topic`` and return its job id."""
        ...


class IdeaScorer(Protocol):
    """What the recommender needs from :class:`miles_core.inference.predictor.Predictor`."""

    @property
    def version(self) -> str: ...

    def predict(self, observations: Sequence[Observation], *, explain: bool = False) -> list[Prediction]:
        """One prediction per observation, in one model call; ``explain`` adds per-group ``contributions``."""
        ...

    def topic_embedding(self, topic: str) -> np.ndarray:
        """The topic encoded like a video's text (``miles_core.relevance``)."""
        ...
