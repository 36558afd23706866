"""Turn benchmark rows into training tensors for both regimes, through THE feature pipeline.

Numeric and lexical inputs come from :func:`build_model_inputs` (exactly what serving computes);
the only shortcut is the sentence embedding, which is read from the frozen-encoder cache instead
of being recomputed every epoch. A test checks it equals what the exported graph computes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miles_core.dataset import LabelledObservation
from miles_core.features import ChannelPriorValue, FeatureSpec, build_model_inputs
from miles_core.features.fit import log_velocity_target
from miles_core.features.text import encoder_text
from miles_core.observation import Observation
from miles_core.training.embeddings import cached_embeddings

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from torch import nn

REGIMES = ("post_publish", "pre_publish")


@dataclass(frozen=True)
class RegimeArrays:
    """Model inputs (minus tokens) and targets of one split in one regime."""

    embedding: np.ndarray
    numeric: np.ndarray
    lexical: np.ndarray
    is_viral: np.ndarray
    log_velocity: np.ndarray
    breakout: np.ndarray
    """``is_viral_rel`` as float32, NaN where the row has no breakout label."""

    def __len__(self) -> int:
        return int(self.numeric.shape[0])


@dataclass(frozen=True)
class EmbeddingSource:
    """Where embeddings come from: encoder name, token budget, tokenizer, cache, loader and depth."""

    encoder_name: str
    max_tokens: int
    tokenizer: Tokenizer
    cache_dir: Path | None
    load_encoder: Callable[[], nn.Module]
    """Returns the FULL encoder: a cache miss computes every depth in one pass."""
    layers: int
    """Pool the output of the first ``layers`` transformer layers (what the exported graph keeps)."""

    @classmethod
    def of_encoder(
        cls, encoder: str, max_tokens: int, tokenizer: Tokenizer, cache_dir: Path | None, layers: int
    ) -> EmbeddingSource:
        """The source for a named (or local-directory) encoder, its cache keyed by the encoder's fingerprint."""
        from miles_core.training.encoder import encoder_fingerprint, load_encoder

        return cls(
            encoder_name=f"{Path(encoder).name}-{encoder_fingerprint(encoder)}",
            max_tokens=max_tokens,
            tokenizer=tokenizer,
            cache_dir=cache_dir,
            load_encoder=lambda: load_encoder(encoder),
            layers=layers,
        )

    def embed(self, observations: Sequence[Observation]) -> np.ndarray:
        """Cached frozen-encoder embeddings of each observation's encoder text."""
        return self.embed_texts([encoder_text(o) for o in observations])

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Cached frozen-encoder embeddings of raw encoder texts (e.g. the empty text of a masked row)."""
        return cached_embeddings(
            list(texts),
            encoder_name=self.encoder_name,
            max_tokens=self.max_tokens,
            layers=self.layers,
            tokenizer=self.tokenizer,
            cache_dir=self.cache_dir,
            load_encoder=self.load_encoder,
        )


def targets(rows: Sequence[LabelledObservation]) -> tuple[np.ndarray, np.ndarray]:
    """(is_viral as float32, log1p velocity as float32)."""
    labels = np.array([r.is_viral for r in rows], dtype=np.float32)
    velocity = np.array([log_velocity_target(r.velocity_views_per_hour) for r in rows], dtype=np.float32)
    return labels, velocity


def breakout_targets(rows: Sequence[LabelledObservation]) -> np.ndarray:
    """``is_viral_rel`` as float32, NaN where unknown (the loss and the metrics skip those rows)."""
    return np.array([np.nan if r.is_viral_rel is None else r.is_viral_rel for r in rows], dtype=np.float32)


def regime_arrays(
    rows: Sequence[LabelledObservation],
    spec: FeatureSpec,
    embeddings: np.ndarray,
    tokenizer: Tokenizer,
    priors: Sequence[ChannelPriorValue | None] | None,
) -> dict[str, RegimeArrays]:
    """Both regimes of the same rows: post-publish as observed, pre-publish via ``as_pre_publish``.

    The embedding is shared (counts never reach the encoder text); ``priors`` are out-of-fold
    priors for training rows and ``None`` (the spec's table) for val and test rows.
    """
    labels, velocity = targets(rows)
    breakout = breakout_targets(rows)
    out: dict[str, RegimeArrays] = {}
    for regime in REGIMES:
        observations = [r.observation if regime == "post_publish" else r.observation.as_pre_publish() for r in rows]
        inputs = build_model_inputs(observations, spec, tokenizer, priors)
        out[regime] = RegimeArrays(embeddings, inputs.numeric, inputs.lexical, labels, velocity, breakout)
    return out


def concat(parts: Sequence[RegimeArrays]) -> RegimeArrays:
    """Stack several arrays sets (e.g. both regimes of train) into one training set."""
    return RegimeArrays(
        embedding=np.concatenate([p.embedding for p in parts]),
        numeric=np.concatenate([p.numeric for p in parts]),
        lexical=np.concatenate([p.lexical for p in parts]),
        is_viral=np.concatenate([p.is_viral for p in parts]),
        log_velocity=np.concatenate([p.log_velocity for p in parts]),
        breakout=np.concatenate([p.breakout for p in parts]),
    )
