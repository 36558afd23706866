"""A trained model directory loaded back for re-measuring it on benchmark rows.

Why one loader: ``miles restack`` and the studies (``infra.studies.calibration_drift``,
``infra.studies.text_neighbours``) each rebuilt the same pieces from a model directory (head and its
bundle, feature spec, tokenizer, the frozen encoder's cached embeddings, trees, text neighbours) and
the same val arrays; a change to any of them (a new file, another layer count) had to be made three
times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from miles_core.dataset import LabelledObservation, load_benchmark
from miles_core.features import FeatureSpec, load_tokenizer
from miles_core.inference.artifact import SPEC_FILE
from miles_core.training.data import EmbeddingSource, RegimeArrays, regime_arrays
from miles_core.training.encoder import resolve_layers, tokenizer_path
from miles_core.training.model_dir import HeadBundle, load_head
from miles_core.training.neighbours import NEIGHBOURS_FILE, TextNeighbours
from miles_core.training.network import HeadEnsemble
from miles_core.training.trees import TREES_FILE, TreeEnsemble

if TYPE_CHECKING:
    from tokenizers import Tokenizer


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
