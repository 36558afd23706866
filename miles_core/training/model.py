"""The Miles model: a frozen sentence encoder fused with numeric and lexical features, two heads.

Training fits :class:`FusionHead` on cached encoder embeddings (the encoder is frozen, so this is
exact and fast). :class:`ServingModel` wraps encoder + head + per-regime calibration into the
single graph that is exported to ONNX: ``(input_ids, attention_mask, numeric, lexical) ->
(viral_logit, log_velocity)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


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
        self.wide = nn.Linear(config.n_numeric, 2)
        self.out = nn.Linear(config.hidden_dim, 2)

    def forward(
        self, embedding: torch.Tensor, numeric: torch.Tensor, lexical: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw (uncalibrated) viral logit and log1p velocity, each [batch]."""
        fused = torch.cat([self.text(embedding), self.lexical(lexical), numeric], dim=-1)
        both = self.out(self.deep(fused)) + self.wide(numeric)
        return both[:, 0], both[:, 1]


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Sentence-transformers pooling: masked mean of token states, then L2 normalisation."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    pooled = summed / mask.sum(dim=1).clamp(min=1e-9)
    return nn.functional.normalize(pooled, p=2.0, dim=-1)


class ServingModel(nn.Module):
    """Encoder + head + calibration: the exact computation that ships as ONNX."""

    def __init__(
        self,
        encoder: nn.Module,
        head: FusionHead,
        stats_known_index: int,
        stats_known_threshold: float,
        calibration: tuple[tuple[float, float], tuple[float, float]],
    ) -> None:
        """``calibration`` is ((scale, bias) pre-publish, (scale, bias) post-publish), fitted on val."""
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.stats_known_index = stats_known_index
        self.register_buffer("stats_known_threshold", torch.tensor(stats_known_threshold))
        self.register_buffer("calibration_scale", torch.tensor([calibration[0][0], calibration[1][0]]))
        self.register_buffer("calibration_bias", torch.tensor([calibration[0][1], calibration[1][1]]))

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
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Calibrated viral logit and log1p(views/hour), each [batch]."""
        raw_logit, log_velocity = self.head(self.embed(input_ids, attention_mask), numeric, lexical)
        # torch.where, not indexing by regime: it exports to a plain ONNX Where with no index ops.
        threshold, scales, biases = self.stats_known_threshold, self.calibration_scale, self.calibration_bias
        assert isinstance(threshold, torch.Tensor)
        assert isinstance(scales, torch.Tensor)
        assert isinstance(biases, torch.Tensor)
        post = numeric[:, self.stats_known_index] > threshold
        scale = torch.where(post, scales[1], scales[0])
        bias = torch.where(post, biases[1], biases[0])
        return raw_logit * scale + bias, log_velocity
