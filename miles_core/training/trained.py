"""A trained model directory loaded back for re-measuring it on benchmark rows.

Why one loader: ``miles restack`` and the studies (``infra.studies.calibration_drift``,
``infra.studies.text_neighbours``) each rebuilt the same pieces from a model directory (head and its
bundle, feature spec, tokenizer, the frozen encoder's cached embeddings, trees, text neighbours), the
same val arrays and the same per-regime network outputs and side scores; a change to any of them (a
new file, another layer count, another side score) had to be made in each. :class:`RegimeOutputs` is
also what the stacking is fitted on (``miles_core.training.train``), so a study measures exactly the
inputs the shipped stacking saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miles_core.dataset import LabelledObservation, load_benchmark
from miles_core.features import FeatureSpec, load_tokenizer
from miles_core.inference.artifact import SPEC_FILE
from miles_core.training.data import REGIMES, EmbeddingSource, RegimeArrays, regime_arrays
from miles_core.training.encoder import resolve_layers, tokenizer_path
from miles_core.training.model_dir import HeadBundle, load_head
from miles_core.training.neighbours import NEIGHBOURS_FILE, TextNeighbours
from miles_core.training.network import Head, HeadEnsemble
from miles_core.training.trainer import all_head_outputs
from miles_core.training.trees import TREE_TARGETS, TREES_FILE, TreeEnsemble

if TYPE_CHECKING:
    from tokenizers import Tokenizer


@dataclass(frozen=True)
class RegimeOutputs:
    """One regime's rows as the stacking sees them: the network's raw outputs and the side scores."""

    regime: str
    arrays: RegimeArrays
    viral: np.ndarray
    """Raw (uncalibrated) viral logits of the network."""
    velocity: np.ndarray
    """Predicted log1p velocity."""
    breakout: np.ndarray
    """Raw breakout logits of the network."""
    trees: np.ndarray
    """The boosted trees' decision, one column per ``TREE_TARGETS``."""
    prior: np.ndarray
    """The text-neighbour prior."""

    def network(self, target: str) -> np.ndarray:
        """The network's raw logit for ``target`` (``viral`` or ``breakout``)."""
        return {"viral": self.viral, "breakout": self.breakout}[target]

    def labels(self, target: str) -> np.ndarray:
        """The rows' ``target`` labels (breakout is NaN where unknown)."""
        return {"viral": self.arrays.is_viral, "breakout": self.arrays.breakout}[target]

    def side(self, target: str) -> np.ndarray:
        """The score stacked beside the network in this regime: the boosted trees' ``target`` score
        post-publish, the text-neighbour prior pre-publish (why: ``miles_core.training.train.fit_stacking``)."""
        return self.trees[:, TREE_TARGETS.index(target)] if self.regime == "post_publish" else self.prior


def regime_outputs(
    head: Head, trees: TreeEnsemble, neighbours: TextNeighbours, arrays: RegimeArrays, regime: str
) -> RegimeOutputs:
    """What ``head``, ``trees`` and ``neighbours`` compute on ``regime``'s ``arrays`` before any stacking."""
    viral, velocity, breakout = all_head_outputs(head, arrays)
    return RegimeOutputs(
        regime, arrays, viral, velocity, breakout, trees.decision(arrays.numeric), neighbours.score(arrays.embedding)
    )


def in_time_order(rows: Sequence[LabelledObservation]) -> list[LabelledObservation]:
    """``rows`` sorted by ``observed_at`` (ties keep their order): "fitted on one month, measured on the next"."""
    return sorted(rows, key=lambda row: _observed_at(row).timestamp())


def days_since_first(rows: Sequence[LabelledObservation]) -> np.ndarray:
    """Days from the first of ``rows`` (in time order) to each."""
    seconds = np.array([_observed_at(row).timestamp() for row in rows])
    return np.asarray((seconds - seconds[0]) / 86400)


def _observed_at(row: LabelledObservation) -> datetime:
    if row.observation.observed_at is None:
        raise ValueError(f"row {row.observation.video_id} has no observed_at: it cannot be ordered in time")
    return row.observation.observed_at


@dataclass(frozen=True)
class TrainedModel:
    """Every trained part of a model directory, and the encoder source its arrays are built with."""

    head: HeadEnsemble
    bundle: HeadBundle
    spec: FeatureSpec
    tokenizer: Tokenizer
    layers: int
    """Encoder layers used (the bundle's, checked against the encoder's depth)."""
    source: EmbeddingSource
    trees: TreeEnsemble
    neighbours: TextNeighbours

    @classmethod
    def load(cls, model_dir: Path, cache_dir: Path | None) -> TrainedModel:
        """``model_dir``'s parts; ``cache_dir`` caches the frozen encoder's embeddings (``None``: no cache)."""
        head, bundle = load_head(model_dir)
        spec = FeatureSpec.load(model_dir / SPEC_FILE)
        tokenizer = load_tokenizer(tokenizer_path(bundle.encoder), spec.max_tokens)
        layers = resolve_layers(bundle.encoder, bundle.encoder_layers)
        source = EmbeddingSource.of_encoder(bundle.encoder, spec.max_tokens, tokenizer, cache_dir, layers)
        trees = TreeEnsemble.load(model_dir / TREES_FILE)
        neighbours = TextNeighbours.load(model_dir / NEIGHBOURS_FILE)
        return cls(head, bundle, spec, tokenizer, layers, source, trees, neighbours)

    def rows(self, data: Path, split: str) -> list[LabelledObservation]:
        """``data``'s ``split`` rows in the languages the model supports (what it was validated on)."""
        return load_benchmark(data, split, supported_languages=self.spec.languages).rows

    def arrays(self, rows: Sequence[LabelledObservation]) -> dict[str, RegimeArrays]:
        """The model's inputs and targets for ``rows``, per regime (no channel priors: these are unseen rows)."""
        return regime_arrays(rows, self.spec, self.source.embed([r.observation for r in rows]), self.tokenizer, None)

    def outputs(self, rows: Sequence[LabelledObservation]) -> dict[str, RegimeOutputs]:
        """Per regime, the network's raw outputs and the side scores for ``rows`` (what the stacking combines)."""
        arrays = self.arrays(rows)
        return {r: regime_outputs(self.head, self.trees, self.neighbours, arrays[r], r) for r in REGIMES}
