"""The text-neighbour prior: how fast the training videos whose title + tags read most alike grew.

A creator's idea almost always comes from a channel the model has never seen, so the channel prior
(who posts) is blank and the head's 16-wide text projection is all it has. The neighbour prior
adds what the full 384-d embedding knows: the mean log1p(views/hour) of the ``k`` training videos
nearest by cosine, like a channel prior for "videos that look like this one". It is stacked with
the network's pre-publish logits on val (the boosted trees play that part post-publish).

Measured on val by ``python -m infra.studies.text_neighbours`` (five-fold stacking of the network's
logits with the prior): pre-publish AUROC on channels unseen in training 0.7205 -> 0.7373 at
``k = 30`` (0.7312 at 20, 0.7332 at 50), overall pre-publish unchanged, no gain post-publish or for
breakout.

The table is the normalised training embeddings stored as float16 (3.5 MB for 4,588 videos) and
their targets; the export bakes it into the graph (``MatMul`` -> ``TopK`` -> ``Gather`` -> mean,
:class:`~miles_core.training.model.NeighbourPrior`) on the encoder's side of the serving cut, so
serving computes it once per text and caches it with the embedding. :meth:`TextNeighbours.score` is
the numpy reference the graph is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from miles_core.training.arrays import load_arrays, save_arrays

NEIGHBOURS_FILE = "text_neighbours.safetensors"
DEFAULT_NEIGHBOURS = 30


@dataclass(frozen=True)
class TextNeighbours:
    """Normalised training embeddings (float16 as stored, float32 when used) and their log1p velocity."""

    embeddings: np.ndarray
    """float16 [videos, dim], each row L2-normalised before rounding."""
    log_velocity: np.ndarray
    """float32 [videos]."""
    k: int

    @classmethod
    def fit(cls, embeddings: np.ndarray, log_velocity: np.ndarray, k: int = DEFAULT_NEIGHBOURS) -> TextNeighbours:
        """The table of training videos; ``k`` is capped at their number (tiny test sets)."""
        if len(embeddings) != len(log_velocity) or len(embeddings) == 0:
            raise ValueError("text neighbours need one log velocity per training embedding, and at least one")
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        unit = np.asarray(embeddings, dtype=np.float64) / np.maximum(norms, 1e-12)
        return cls(unit.astype(np.float16), np.asarray(log_velocity, dtype=np.float32), min(k, len(embeddings)))

    @property
    def table(self) -> np.ndarray:
        """The float32 table every consumer multiplies with (numpy, torch and the ONNX graph alike)."""
        return self.embeddings.astype(np.float32)

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Mean log1p velocity of each row's ``k`` most similar training videos [rows] (float32)."""
        similarity = np.asarray(embeddings, dtype=np.float32) @ self.table.T
        nearest = np.argpartition(-similarity, self.k - 1, axis=1)[:, : self.k]
        return np.asarray(self.log_velocity[nearest].mean(axis=1), dtype=np.float32)

    def save(self, path: Path) -> None:
        """One safetensors file (byte-stable for the same table)."""
        save_arrays(
            path,
            {
                "embeddings": self.embeddings.astype(np.float16),
                "log_velocity": self.log_velocity.astype(np.float32),
                "k": np.array([self.k], dtype=np.int64),
            },
        )

    @classmethod
    def load(cls, path: Path) -> TextNeighbours:
        """Read a table written by :meth:`save`; a clear error when the model predates it."""
        arrays = load_arrays(path, "text neighbours")
        return cls(arrays["embeddings"], arrays["log_velocity"], int(arrays["k"][0]))
