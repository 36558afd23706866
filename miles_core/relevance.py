"""Topic <-> video relevance by meaning: the cosine of the shipped sentence encoder's embeddings.

Why not word overlap: "dog training" shares a word with a Three Dog Night song and "skincare" with a
Fortnite skin reveal, and the recommendations built on such matches were about something else. The
model already encodes every video's text ("title | first tags") into an L2-normalised 384-d embedding
(``miles_core.inference``); a topic is encoded the same way (its text as a title), so relevance is one
dot product.

Stored videos carry their embedding (written by the stream scorer with the score, :func:`pack_embedding`:
float16, 768 bytes), so a request encodes only its topic. This module is numpy only: the scrape image
reads stored embeddings without onnxruntime.

The threshold is chosen on the labelled (topic, video, relevant?) pairs of real benchmark videos in
``tests/fixtures/relevance/labelled_pairs.csv``: the lowest threshold whose precision there is at least
:data:`TARGET_PRECISION` (``python -m infra.studies.relevance`` prints precision and recall per threshold).
Precision first: an unrelated video shown as inspiration is worse than a missing related one.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

import numpy as np

RELEVANCE_THRESHOLD = 0.45
"""Cosine at or above which a video is about the topic (chosen by ``python -m infra.studies.relevance``)."""
TARGET_PRECISION = 0.95
"""The precision the threshold must reach on the labelled pairs (0.9 let a Drake song named "DOG HOUSE" into pets)."""
EMBEDDING_DTYPE = np.dtype("<f2")
"""Stored embeddings are little-endian float16: a cosine moves by < 1e-3, a quarter of float32's bytes."""
THIN_EVIDENCE_BELOW = 5
"""Fewer relevant videos than this is thin evidence: patterns from 1-4 titles are anecdotes."""


class EvidenceLevel(StrEnum):
    """How much a recommendation stands on."""

    NONE = "none"
    """No stored video is about the topic: ideas are generic."""
    THIN = "thin"
    """1-4 relevant videos."""
    GOOD = "good"
    """5 or more."""


def evidence_level(relevant_videos: int) -> EvidenceLevel:
    if relevant_videos <= 0:
        return EvidenceLevel.NONE
    return EvidenceLevel.THIN if relevant_videos < THIN_EVIDENCE_BELOW else EvidenceLevel.GOOD


class TopicEncoder(Protocol):
    """Encodes a topic the way video texts are encoded (``Predictor.topic_embedding``)."""

    def topic_embedding(self, topic: str) -> np.ndarray:
        """The topic's L2-normalised embedding (float32 [dim])."""
        ...


def pack_embedding(embedding: np.ndarray) -> bytes:
    """The compact stored form of an embedding (float16 bytes)."""
    return np.asarray(embedding, dtype=EMBEDDING_DTYPE).tobytes()


def unpack_embedding(data: bytes) -> np.ndarray:
    """float32 [dim] from :func:`pack_embedding`'s bytes."""
    return np.frombuffer(data, dtype=EMBEDDING_DTYPE).astype(np.float32)


def relevance(topic: np.ndarray, embeddings: Sequence[bytes | None]) -> list[float | None]:
    """Cosine of each stored embedding with the topic's (``None`` where a video has no embedding yet)."""
    scores: list[float | None] = []
    for data in embeddings:
        if data is None:
            scores.append(None)
            continue
        vector = unpack_embedding(data)
        if vector.shape != topic.shape:  # another encoder's embedding: not comparable, not evidence
            scores.append(None)
            continue
        scores.append(round(float(vector @ topic), 4))
    return scores


def is_relevant(score: float | None) -> bool:
    return score is not None and score >= RELEVANCE_THRESHOLD
