"""The text-neighbour prior: how fast the training videos whose title + tags read most alike grew.

A creator's idea almost always comes from a channel the model has never seen, so the channel prior
(who posts) is blank and the head's 16-wide text projection is all it has. The neighbour prior
adds what the full 384-d embedding knows: the mean log1p(views/hour) of the ``k`` training videos
nearest by cosine, like a channel prior for "videos that look like this one". It is stacked with
the network's pre-publish logits on val (the boosted trees play that part post-publish).

Measured on val by ``python -m infra.studies.text_neighbours`` (five-fold stacking of the network's
logits with the prior): pre-publish AUROC on channels unseen in training 0.7205 -> 0.7368 at
``k = 30`` (0.7329 at 20, 0.7337 at 50), overall pre-publish unchanged, no gain post-publish or for
breakout.

The table is the normalised training embeddings projected on their top 128 principal axes, stored
as float16 (1.2 MB for 4,588 videos), and their targets. The export bakes it into the graph
(``MatMul`` -> ``TopK`` -> ``Gather`` -> mean, :class:`~miles_core.training.network.NeighbourPrior`)
on the encoder's side of the serving cut, so serving computes it once per text and caches it with
the embedding. :meth:`TextNeighbours.score` is the numpy reference the graph is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from miles_core.training.arrays import load_arrays, save_arrays

NEIGHBOURS_FILE = "text_neighbours.safetensors"
DEFAULT_NEIGHBOURS = 30
SEARCH_RANK = 128
"""Width of the space the search runs in: the top principal axes of the training embeddings.

Serving reads the whole table for every new text, and the encoder's 58 MB of weights push it out of
the cache in between, so the search costs what it reads: the full 384-d float32 table (7 MB) added
0.38-0.47 ms to a single title, 128 axes 0.18-0.28 ms (paired ``python -m infra.bench.graphs_ab``),
at the same val AUROC within noise (``python -m infra.studies.text_neighbours``; 96 axes lose 0.006).
"""


@dataclass(frozen=True)
class TextNeighbours:
    """Training videos projected on the top principal axes of their embeddings, and their log1p velocity.

    Similarity is ``(embedding @ projection) @ table.T``: a rank-``SEARCH_RANK`` approximation of the
    cosine between the L2-normalised embedding and each training video's.
    """

    projection: np.ndarray
    """float16 [dim, rank]: orthonormal principal axes of the training embeddings (as stored)."""
    table: np.ndarray
    """float16 [videos, rank]: each training video's normalised embedding, projected (as stored)."""
    log_velocity: np.ndarray
    """float32 [videos]."""
    k: int

    @classmethod
    def fit(
        cls, embeddings: np.ndarray, log_velocity: np.ndarray, k: int = DEFAULT_NEIGHBOURS, rank: int = SEARCH_RANK
    ) -> TextNeighbours:
        """The projected table of training videos; ``k`` and ``rank`` are capped by the data (tiny test sets)."""
        if len(embeddings) != len(log_velocity) or len(embeddings) == 0:
            raise ValueError("text neighbours need one log velocity per training embedding, and at least one")
        unit = np.asarray(embeddings, dtype=np.float64)
        unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
        centred = unit - unit.mean(axis=0)
        _, axes = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues: the last columns matter
        axes = axes[:, ::-1][:, : min(rank, unit.shape[1])]
        axes = axes * np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])  # a fixed sign
        projection = axes.astype(np.float16)
        table = (unit @ projection.astype(np.float64)).astype(np.float16)
        return cls(projection, table, np.asarray(log_velocity, dtype=np.float32), min(k, len(embeddings)))

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Mean log1p velocity of each row's ``k`` most similar training videos [rows] (float32)."""
        projected = np.asarray(embeddings, dtype=np.float32) @ self.projection.astype(np.float32)
        similarity = projected @ self.table.astype(np.float32).T
        nearest = np.argpartition(-similarity, self.k - 1, axis=1)[:, : self.k]
        return np.asarray(self.log_velocity[nearest].mean(axis=1), dtype=np.float32)

    def save(self, path: Path) -> None:
        """One safetensors file (byte-stable for the same table)."""
        save_arrays(
            path,
            {
                "projection": self.projection.astype(np.float16),
                "table": self.table.astype(np.float16),
                "log_velocity": self.log_velocity.astype(np.float32),
                "k": np.array([self.k], dtype=np.int64),
            },
        )

    @classmethod
    def load(cls, path: Path) -> TextNeighbours:
        """Read a table written by :meth:`save`; a clear error when the model predates it."""
        arrays = load_arrays(path, "text neighbours")
        if "projection" not in arrays:
            raise ValueError(f"{path} predates the projected search: retrain with `miles train`")
        return cls(arrays["projection"], arrays["table"], arrays["log_velocity"], int(arrays["k"][0]))
