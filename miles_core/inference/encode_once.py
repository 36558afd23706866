"""Encode once: a bounded in-memory LRU of each text's features (encoder embedding, neighbour prior, n-grams).

Why: the encoder is ~all of a prediction's compute, and the text of a video rarely changes while
its stats do. The stream scorer re-scores a video every time a scrape refreshes its counts, a
creator scores one title at many posting times in one batch, and ``explain`` scores every row six
more times with one group masked. Everything in a row that depends only on the text (the pooled
encoder embedding, the text-neighbour prior computed from it in the encoder graph, and the TF-IDF
n-gram vector, which costs more than the numeric features) is therefore computed once per
(text, artifact) and reused.

The key is the sha256 of the text fields the pipeline reads (title, tags, description) plus a
``version`` that names the artifact: the encoder graph's sha256, the feature spec (n-gram IDF) and
the tokenizer. A new artifact never reads an old entry, even if a cache outlived a model reload.

Memory: an entry is the embedding (384 float32 = 1.5 KB) plus the n-gram vector stored sparse
(128 non-zero buckets on average over 400 val videos, 302 at most): 3.2 KB an entry measured with
tracemalloc, so the default 4,096 entries hold ~13 MB.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from miles_core.features.format_markers import model_text
from miles_core.observation import Observation

DEFAULT_CAPACITY = 4096


@dataclass(frozen=True)
class TextFeatures:
    """What a row's text contributes to the head: its embedding, neighbour prior and n-gram vector (sparse)."""

    embedding: np.ndarray
    """float32 [embedding_dim]."""
    neighbour_prior: float
    """Mean log1p velocity of the training videos nearest the embedding (``training/neighbours.py``)."""
    lexical_buckets: np.ndarray
    """int32: the non-zero buckets of the n-gram vector."""
    lexical_values: np.ndarray
    """float32: their values."""

    @classmethod
    def of(cls, embedding: np.ndarray, neighbour_prior: float, lexical: np.ndarray) -> TextFeatures:
        buckets = np.flatnonzero(lexical).astype(np.int32)
        return cls(
            np.array(embedding, dtype=np.float32),
            float(neighbour_prior),
            buckets,
            np.asarray(lexical[buckets], dtype=np.float32).copy(),
        )

    def lexical(self, width: int) -> np.ndarray:
        """The dense n-gram vector (float32 [width])."""
        dense = np.zeros(width, dtype=np.float32)
        dense[self.lexical_buckets] = self.lexical_values
        return dense


def text_key(observation: Observation, version: str) -> str:
    """sha256 of the artifact version and every text field the feature pipeline reads (as it reads them:
    without format markers, so a title with and without ``#shorts`` shares one entry)."""
    text = model_text(observation)
    fields = [version, text.title, list(text.tags), text.description]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass
class CacheStats:
    """Counters since load: lookups served from memory, and texts that went through the encoder."""

    hits: int = 0
    encoded: int = 0


class TextFeatureCache:
    """Least-recently-used map of text key -> :class:`TextFeatures`, at most ``capacity`` entries.

    Not locked: each handler module owns its Predictor, and Lambda (like ``make run``'s stack, which
    runs one API invocation at a time and the stream poller on its own thread with its own scorer
    Predictor) drives a Predictor from one thread.
    """

    def __init__(self, version: str, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        self.version = version
        self.capacity = capacity
        self.stats = CacheStats()
        self._entries: OrderedDict[str, TextFeatures] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def key(self, observation: Observation) -> str:
        return text_key(observation, self.version)

    def get(self, key: str) -> TextFeatures | None:
        """The entry (now the most recently used) or None."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.stats.hits += 1
        return entry

    def clear(self) -> None:
        """Forget every entry (counters are kept): what a benchmark of never-seen texts needs."""
        self._entries.clear()

    def put(self, key: str, features: TextFeatures) -> None:
        """Store ``features``, evicting the least recently used entries beyond ``capacity``."""
        if self.capacity == 0:
            return
        self._entries[key] = features
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
