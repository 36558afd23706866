"""Fit the fusion head on cached embeddings; pick epochs and hyper-parameters on val.

One head serves both regimes: every training row appears twice (post- and pre-publish form), and
each grid point is scored on val by the mean AUROC of the two regimes at its best epoch.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from miles_core.accuracy.metrics import auroc
from miles_core.training.data import REGIMES, RegimeArrays
from miles_core.training.network import FusionHead, Head, HeadConfig, HeadEnsemble

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GridPoint:
    """Hyper-parameters searched on val (the architecture's width and regularisation)."""

    hidden_dim: int
    dropout: float
    weight_decay: float
    text_dim: int = 16
    lexical_dim: int = 8
    input_dropout: float = 0.5
    learning_rate: float = 2e-3
    mask_probability: float = 0.0
    """Per row, batch and feature group (text, lexical, timing, category, channel): the chance the
    group is set to its unknown value (:mod:`miles_core.features.groups`) while training."""
    channel_mask_probability: float = 0.0
    """Per row and batch, the chance the channel prior alone is set to unknown (at least
    ``mask_probability``). Why: a creator asking for ideas is almost always a channel the model never
    saw, yet few training rows look like one (their out-of-fold priors are known); masking the
    channel teaches the head that case. On val, ensembles trained with 0.2 / 0.3 / 0.5 all raised
    pre-publish AUROC on unseen channels (0.7176 -> 0.7270 / 0.7235 / 0.7255) and overall
    (0.8633 -> 0.8672 / 0.8658 / 0.8652), post-publish within 0.0004."""

    def label(self) -> str:
        return (
            f"hidden={self.hidden_dim} dropout={self.dropout} text={self.text_dim} lexical={self.lexical_dim} "
            f"input_dropout={self.input_dropout} wd={self.weight_decay} lr={self.learning_rate} "
            f"mask={self.mask_probability} channel_mask={self.channel_mask_probability}"
        )

    def mask_probabilities(self) -> dict[str, float]:
        """Per maskable group with a chance above 0, the chance a training row has it set to unknown."""
        chances = {group: self.mask_probability for group in MASKED_GROUPS}
        chances["channel"] = max(chances["channel"], self.channel_mask_probability)
        return {group: chance for group, chance in chances.items() if chance > 0}

    def head_config(self, base: HeadConfig) -> HeadConfig:
        """``base`` (input widths) with this point's architecture and dropout."""
        return replace(
            base,
            hidden_dim=self.hidden_dim,
            dropout=self.dropout,
            text_dim=self.text_dim,
            lexical_dim=self.lexical_dim,
            input_dropout=self.input_dropout,
        )


DEFAULT_GRID = (
    GridPoint(hidden_dim=128, dropout=0.5, weight_decay=1e-2, mask_probability=0.15),
    GridPoint(hidden_dim=128, dropout=0.3, weight_decay=1e-3, mask_probability=0.15),
    GridPoint(hidden_dim=128, dropout=0.5, weight_decay=1e-2),
    GridPoint(hidden_dim=128, dropout=0.5, weight_decay=1e-2, channel_mask_probability=0.2),
)
"""Small on purpose (2 cores): hidden 128 won the earlier 4-point grid; group masking at 0.15 beat 0.3
in a prototype on val (0.3 lowered pre-publish AUROC), so the grid asks whether masking every group at 0.15
helps, and whether masking the channel alone does (see ``GridPoint.channel_mask_probability``)."""


@dataclass(frozen=True)
class FitSettings:
    """Optimisation settings shared by every grid point."""

    max_epochs: int = 40
    patience: int = 8
    batch_size: int = 256
    velocity_weight: float = 0.3
    breakout_weight: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class GroupMasks:
    """What training-time group masking writes: the empty text's embedding and each group's numeric
    unknown values (column indices, scaled values); lexical masking writes zeros."""

    empty_embedding: np.ndarray
    numeric: dict[str, tuple[np.ndarray, np.ndarray]]

    def apply(
        self, tensors: list[torch.Tensor], probabilities: dict[str, float], generator: torch.Generator
    ) -> list[torch.Tensor]:
        """Copies of (embedding, numeric, lexical) with each group in ``probabilities`` masked per row at its chance."""
        embedding, numeric, lexical = (t.clone() for t in tensors)
        rows = embedding.shape[0]
        for group in MASKED_GROUPS:
            if group not in probabilities:
                continue
            chosen = torch.rand(rows, generator=generator) < probabilities[group]
            if group == "text":
                embedding[chosen] = torch.from_numpy(self.empty_embedding)
            elif group == "lexical":
                lexical[chosen] = 0.0
            else:
                columns, values = self.numeric[group]
                block = numeric[chosen]
                block[:, torch.from_numpy(columns)] = torch.from_numpy(values)
                numeric[chosen] = block
        return [embedding, numeric, lexical]


MASKED_GROUPS = ("text", "lexical", "timing", "category", "channel")
"""Groups masked at random in training; ``early_stats`` is not: every row is already trained in
pre-publish form (stats masked) as well as post-publish."""


@dataclass
class FitResult:
    """The best epoch of one grid point."""

    point: GridPoint
    config: HeadConfig
    state: dict[str, torch.Tensor]
    epoch: int
    score: float
    val_auroc: dict[str, float]
    history: list[float] = field(default_factory=list)
    breakout_auroc: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def head(self) -> FusionHead:
        """A fresh head in eval mode holding the best epoch's weights."""
        head = FusionHead(self.config)
        head.load_state_dict(self.state)
        return head.eval()


def head_outputs(head: Head, arrays: RegimeArrays) -> tuple[np.ndarray, np.ndarray]:
    """Raw viral logits and log-velocity predictions of ``head`` (eval mode, no gradients)."""
    viral, velocity, _ = all_head_outputs(head, arrays)
    return viral, velocity


def all_head_outputs(head: Head, arrays: RegimeArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw viral logits, log-velocity predictions and raw breakout logits (eval mode, no gradients)."""
    head.eval()
    with torch.no_grad():
        outputs = head(
            torch.from_numpy(arrays.embedding), torch.from_numpy(arrays.numeric), torch.from_numpy(arrays.lexical)
        )
    viral, velocity, breakout = (o.numpy().astype(np.float64) for o in outputs)
    return viral, velocity, breakout


def _val_auroc(head: Head, val: dict[str, RegimeArrays]) -> dict[str, float]:
    return {regime: auroc(val[regime].is_viral, head_outputs(head, val[regime])[0]) for regime in REGIMES}


def _breakout_auroc(head: Head, val: dict[str, RegimeArrays]) -> dict[str, float]:
    out = {}
    for regime in REGIMES:
        known = ~np.isnan(val[regime].breakout)
        out[regime] = auroc(val[regime].breakout[known], all_head_outputs(head, val[regime])[2][known])
    return out


def fit_one(
    train: RegimeArrays,
    val: dict[str, RegimeArrays],
    base: HeadConfig,
    point: GridPoint,
    settings: FitSettings,
    masks: GroupMasks | None = None,
) -> FitResult:
    """Train one grid point with early stopping on val mean AUROC; keep the best epoch's weights."""
    torch.manual_seed(settings.seed)
    config = point.head_config(base)
    head = FusionHead(config)
    optimizer = torch.optim.AdamW(head.parameters(), lr=point.learning_rate, weight_decay=point.weight_decay)
    generator = torch.Generator().manual_seed(settings.seed)
    chances = point.mask_probabilities()
    tensors = [torch.from_numpy(a) for a in (train.embedding, train.numeric, train.lexical)]
    labels, velocity = torch.from_numpy(train.is_viral), torch.from_numpy(train.log_velocity)
    breakout = torch.from_numpy(train.breakout)
    breakout_known = ~torch.isnan(breakout)
    breakout = torch.nan_to_num(breakout)
    velocity_mean = float(velocity.mean())
    bce, huber = nn.BCEWithLogitsLoss(), nn.HuberLoss(delta=1.0)
    masked_bce = nn.BCEWithLogitsLoss(reduction="none")
    with torch.no_grad():
        # Start the velocity output at the train mean, so early epochs are not spent learning it.
        head.out.bias[1] = velocity_mean
    best: FitResult | None = None
    history: list[float] = []
    for epoch in range(1, settings.max_epochs + 1):
        head.train()
        order = torch.randperm(len(train), generator=generator)
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            inputs = [t[batch] for t in tensors]
            if masks is not None and chances:
                inputs = masks.apply(inputs, chances, generator)
            logit, predicted, breakout_logit = head(*inputs)
            loss = bce(logit, labels[batch]) + settings.velocity_weight * huber(predicted, velocity[batch])
            known = breakout_known[batch]
            if bool(known.any()):
                per_row = masked_bce(breakout_logit, breakout[batch]) * known
                loss = loss + settings.breakout_weight * per_row.sum() / known.sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scores = _val_auroc(head, val)
        score = float(np.mean(list(scores.values())))
        history.append(round(score, 6))
        if best is None or score > best.score:
            state = copy.deepcopy(head.state_dict())
            best = FitResult(point, config, state, epoch, score, scores, seed=settings.seed)
        elif epoch - best.epoch >= settings.patience:
            break
    assert best is not None
    best.history = history
    best.breakout_auroc = _breakout_auroc(best.head(), val)
    return best


def grid_search(
    train: RegimeArrays,
    val: dict[str, RegimeArrays],
    base: HeadConfig,
    grid: Sequence[GridPoint],
    settings: FitSettings,
    masks: GroupMasks | None = None,
) -> tuple[FitResult, list[FitResult]]:
    """Fit every grid point (same seed), log progress with an ETA, return the best and all."""
    results: list[FitResult] = []
    started = time.monotonic()
    for index, point in enumerate(grid, start=1):
        result = fit_one(train, val, base, point, settings, masks)
        results.append(result)
        elapsed = time.monotonic() - started
        logger.info(
            "grid %d/%d %s: best epoch %d, val AUROC post %.4f pre %.4f, breakout post %.4f pre %.4f "
            "(%.0fs elapsed, ETA %.0fs)",
            index,
            len(grid),
            point.label(),
            result.epoch,
            result.val_auroc["post_publish"],
            result.val_auroc["pre_publish"],
            result.breakout_auroc.get("post_publish", float("nan")),
            result.breakout_auroc.get("pre_publish", float("nan")),
            elapsed,
            elapsed / index * (len(grid) - index),
        )
    best = max(results, key=lambda r: r.score)
    return best, results


def fit_ensemble(
    train: RegimeArrays,
    val: dict[str, RegimeArrays],
    base: HeadConfig,
    best: FitResult,
    settings: FitSettings,
    size: int,
    masks: GroupMasks | None = None,
) -> tuple[HeadEnsemble, list[FitResult]]:
    """``best`` plus ``size - 1`` more heads of its grid point (seeds ``seed + 1``...), each early-stopped on val."""
    members = [best]
    for offset in range(1, size):
        result = fit_one(train, val, base, best.point, replace(settings, seed=settings.seed + offset), masks)
        logger.info(
            "ensemble seed %d: best epoch %d, val AUROC post %.4f pre %.4f",
            settings.seed + offset,
            result.epoch,
            result.val_auroc["post_publish"],
            result.val_auroc["pre_publish"],
        )
        members.append(result)
    return HeadEnsemble.of([m.head() for m in members]), members
