"""The Miles model: a frozen sentence encoder fused with numeric and lexical features, two heads.

Training fits :class:`FusionHead` on cached encoder embeddings (the encoder is frozen, so this is
exact and fast). :class:`ServingModel` wraps encoder + head + per-regime calibration into the
single graph that is exported to ONNX: ``(input_ids, attention_mask, numeric, lexical, tree_scores) ->
(viral_logit, log_velocity, breakout_logit)``; the export then feeds ``tree_scores`` from a boosted-tree
ensemble node grafted into the same graph (see :mod:`miles_core.training.trees`). The text-neighbour
prior (:mod:`miles_core.training.neighbours`) is computed in the graph from the pooled embedding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from miles_core.training.neighbours import TextNeighbours

HEAD_OUTPUTS = 3
"""Viral logit, log1p velocity, breakout logit."""

STACK_REGIMES = ("pre_publish", "post_publish")
STACK_TARGETS = ("viral", "breakout")
"""The two classification targets; each is stacked with its boosted-tree score per regime."""


@dataclass(frozen=True)
class HeadConfig:
    """Shape and regularisation of the fusion head (chosen on val)."""

    embedding_dim: int
    n_numeric: int
    n_buckets: int
    text_dim: int = 64
    lexical_dim: int = 32
    hidden_dim: int = 128
    dropout: float = 0.2
    input_dropout: float = 0.1

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


class FusionHead(nn.Module):
    """Deep path over (text, lexical, numeric) plus a wide linear path over numeric features.

    The wide path lets the strongest scalar signals (views per hour so far, channel prior) act
    linearly, as in a logistic regression; the deep path learns their interactions with text.
    """

    def __init__(self, config: HeadConfig) -> None:
        super().__init__()
        self.config = config
        self.text = nn.Sequential(
            nn.Dropout(config.input_dropout), nn.Linear(config.embedding_dim, config.text_dim), nn.GELU()
        )
        self.lexical = nn.Sequential(
            nn.Dropout(config.input_dropout), nn.Linear(config.n_buckets, config.lexical_dim), nn.GELU()
        )
        fused = config.text_dim + config.lexical_dim + config.n_numeric
        self.deep = nn.Sequential(
            nn.Linear(fused, config.hidden_dim),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_dim, config.hidden_dim),
            nn.GELU(),
            nn.Dropout(config.dropout),
        )
        self.wide = nn.Linear(config.n_numeric, HEAD_OUTPUTS)
        self.out = nn.Linear(config.hidden_dim, HEAD_OUTPUTS)

    def forward(
        self, embedding: torch.Tensor, numeric: torch.Tensor, lexical: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw (uncalibrated) viral logit, log1p velocity and breakout logit, each [batch]."""
        fused = torch.cat([self.text(embedding), self.lexical(lexical), numeric], dim=-1)
        outputs = self.out(self.deep(fused)) + self.wide(numeric)
        return outputs[:, 0], outputs[:, 1], outputs[:, 2]


class HeadEnsemble(nn.Module):
    """The mean of several fusion heads' outputs: the chosen architecture trained with different seeds.

    Averaging seeds removes most of the seed-to-seed noise of one small head (the val AUROC of a
    single head moves by ~0.01 with the seed on channels never seen in training) at no serving cost
    worth measuring: the heads are a few thousand multiply-adds beside the encoder.
    """

    def __init__(self, config: HeadConfig, size: int) -> None:
        super().__init__()
        self.config = config
        self.heads = nn.ModuleList([FusionHead(config) for _ in range(size)])

    @classmethod
    def of(cls, heads: list[FusionHead]) -> HeadEnsemble:
        """An ensemble holding (copies of) ``heads``' weights, in eval mode."""
        ensemble = cls(heads[0].config, len(heads))
        for target, source in zip(ensemble.heads, heads, strict=True):
            target.load_state_dict(source.state_dict())
        return ensemble.eval()

    def forward(
        self, embedding: torch.Tensor, numeric: torch.Tensor, lexical: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The mean over heads of (viral logit, log1p velocity, breakout logit), each [batch]."""
        outputs = [head(embedding, numeric, lexical) for head in self.heads]
        viral, velocity, breakout = (torch.stack([o[i] for o in outputs]).mean(dim=0) for i in range(HEAD_OUTPUTS))
        return viral, velocity, breakout


Head = FusionHead | HeadEnsemble


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Sentence-transformers pooling: masked mean of token states, then L2 normalisation."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    pooled = summed / mask.sum(dim=1).clamp(min=1e-9)
    return nn.functional.normalize(pooled, p=2.0, dim=-1)


StackWeights = tuple[float, float, float, float]
"""(weight of the network logit, of the tree score, of the text-neighbour prior, bias)."""
Stacking = dict[str, dict[str, StackWeights]]
"""regime -> target -> :data:`StackWeights`, fitted on val."""


class NeighbourPrior(nn.Module):
    """The text-neighbour prior in the graph: mean log1p velocity of the ``k`` training videos nearest the embedding.

    Its own module so its nodes carry the ``/neighbours/`` scope: the export's split puts them on the
    text side of the cut (they depend on the text alone), so a text's prior is computed with its
    embedding, once, and cached with it (:mod:`miles_core.training.split`).
    """

    def __init__(self, neighbours: TextNeighbours) -> None:
        super().__init__()
        self.k = neighbours.k
        self.register_buffer("projection", torch.from_numpy(neighbours.projection.astype(np.float32)))
        self.register_buffer("table", torch.from_numpy(neighbours.table.astype(np.float32).T.copy()))
        self.register_buffer("log_velocity", torch.from_numpy(neighbours.log_velocity.copy()))

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        """[batch, dim] L2-normalised embeddings -> [batch] priors (as :meth:`TextNeighbours.score`)."""
        projection, table, values = self.projection, self.table, self.log_velocity
        assert isinstance(projection, torch.Tensor)
        assert isinstance(table, torch.Tensor)
        assert isinstance(values, torch.Tensor)
        nearest = torch.topk((embedding @ projection) @ table, self.k, dim=1).indices
        return values[nearest].mean(dim=1)


class ServingModel(nn.Module):
    """Encoder + head + per-regime stacking with the tree scores: the computation that ships as ONNX.

    ``tree_scores`` [batch, 2] are the boosted trees' raw scores (viral, breakout); in the exported
    artifact they come from a tree-ensemble node inside the same graph. The text-neighbour prior
    (:class:`NeighbourPrior`) is computed from the pooled embedding. The stacking weights replace
    Platt calibration:
    ``z = a_net * z_net + a_tree * z_tree + a_neighbours * neighbours + b`` per regime and target.
    """

    def __init__(
        self,
        encoder: nn.Module,
        head: Head,
        stats_known_index: int,
        stats_known_threshold: float,
        stacking: Stacking,
        neighbours: TextNeighbours,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.stats_known_index = stats_known_index
        self.register_buffer("stats_known_threshold", torch.tensor(stats_known_threshold))
        # [regime (pre, post), target (viral, breakout), (a_net, a_tree, a_neighbours, bias)]
        weights = [[list(stacking[regime][target]) for target in STACK_TARGETS] for regime in STACK_REGIMES]
        self.register_buffer("stacking", torch.tensor(weights, dtype=torch.float32))
        self.neighbours = NeighbourPrior(neighbours)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Pooled sentence embedding."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        numeric: torch.Tensor,
        lexical: torch.Tensor,
        tree_scores: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Calibrated viral logit, log1p(views/hour) and calibrated breakout logit, each [batch]."""
        embedding = self.embed(input_ids, attention_mask)
        raw_viral, log_velocity, raw_breakout = self.head(embedding, numeric, lexical)
        neighbours = self.neighbours(embedding)
        # torch.where, not indexing by regime: it exports to a plain ONNX Where with no index ops.
        threshold, weights = self.stats_known_threshold, self.stacking
        assert isinstance(threshold, torch.Tensor)
        assert isinstance(weights, torch.Tensor)
        post = numeric[:, self.stats_known_index] > threshold
        stacked = []
        for target, raw in enumerate((raw_viral, raw_breakout)):
            pre_w, post_w = weights[0, target], weights[1, target]
            tree = tree_scores[:, target]
            stacked.append(
                torch.where(
                    post,
                    post_w[0] * raw + post_w[1] * tree + post_w[2] * neighbours + post_w[3],
                    pre_w[0] * raw + pre_w[1] * tree + pre_w[2] * neighbours + pre_w[3],
                )
            )
        return stacked[0], log_velocity, stacked[1]
