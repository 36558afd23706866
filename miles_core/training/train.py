"""``miles train``: fit features on train, the head on both regimes, choose everything on val.

Steps (each logged with timings): load rows -> out-of-fold channel priors -> fit the feature spec
-> cached encoder embeddings -> grid search (epochs by early stopping) -> per-regime Platt
calibration and decision threshold on val -> baselines -> write the trained-model directory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from miles_core.dataset import LabelledObservation, load_benchmark
from miles_core.features.fit import fit_feature_spec, log_velocity_target, out_of_fold_channel_priors
from miles_core.features.pipeline import load_tokenizer
from miles_core.inference.artifact import CARD_FILE, SPEC_FILE, ModelCard
from miles_core.training import baselines
from miles_core.training.calibration import apply_platt, best_f1_threshold, fit_platt
from miles_core.training.card import build_card, file_sha256
from miles_core.training.data import REGIMES, EmbeddingSource, concat, regime_arrays
from miles_core.training.encoder import DEFAULT_ENCODER, encoder_fingerprint, load_encoder, tokenizer_path
from miles_core.training.export import write_quantization_ranges
from miles_core.training.metrics import regime_metrics, sigmoid
from miles_core.training.model import HeadConfig
from miles_core.training.model_dir import (
    CALIBRATION_FILE,
    HeadBundle,
    choose_calibration_observations,
    copy_tokenizer,
    save_calibration_observations,
    save_head,
)
from miles_core.training.trainer import DEFAULT_GRID, FitResult, FitSettings, GridPoint, grid_search, head_outputs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    """Everything ``miles train`` can be told; defaults are the shipped model's settings."""

    data: Path
    out: Path
    encoder: str = DEFAULT_ENCODER
    seed: int = 0
    max_tokens: int = 48
    ngram_buckets: int = 1024
    channel_smoothing: float = 3.0
    cache_dir: Path | None = Path(".cache/miles")
    grid: Sequence[GridPoint] = DEFAULT_GRID
    settings: FitSettings = field(default_factory=FitSettings)
    train_split: str = "train"
    val_split: str = "val"
    measure_served: bool = True


class _Clock:
    """Logs each step with its duration and the total so far (the progress a user sees)."""

    def __init__(self) -> None:
        self.started = self.last = time.monotonic()

    def step(self, message: str, *args: object) -> None:
        now = time.monotonic()
        logger.info("[%5.0fs +%4.0fs] " + message, now - self.started, now - self.last, *args)
        self.last = now

    @property
    def total(self) -> float:
        return time.monotonic() - self.started


def _languages(rows: Sequence[LabelledObservation]) -> list[str]:
    return sorted({(r.observation.language or "").split("-")[0].lower() for r in rows} - {""})


def _calibrate(best: FitResult, val: dict[str, Any]) -> tuple[dict[str, tuple[float, float]], dict[str, np.ndarray]]:
    """Per-regime Platt parameters and the calibrated val probabilities they give."""
    head = best.head()
    calibration: dict[str, tuple[float, float]] = {}
    probabilities: dict[str, np.ndarray] = {}
    for regime in REGIMES:
        logits, _ = head_outputs(head, val[regime])
        calibration[regime] = fit_platt(logits, val[regime].is_viral)
        probabilities[regime] = sigmoid(apply_platt(logits, calibration[regime]))
    return calibration, probabilities


def train(options: TrainOptions) -> ModelCard:
    """Train, select and calibrate on val, write ``options.out``; returns the model card."""
    import torch

    torch.manual_seed(options.seed)
    torch.use_deterministic_algorithms(True)
    clock = _Clock()
    train_data = load_benchmark(options.data, options.train_split)
    languages = _languages(train_data.rows)
    val_data = load_benchmark(options.data, options.val_split, supported_languages=languages)
    train_rows, val_rows = train_data.rows, val_data.rows
    clock.step("loaded %d train and %d val rows (skipped %s / %s)", len(train_rows), len(val_rows),
               dict(train_data.skipped), dict(val_data.skipped))  # fmt: skip

    log_velocity = [log_velocity_target(r.velocity_views_per_hour) for r in train_rows]
    channels = [r.observation.channel_id for r in train_rows]
    priors = out_of_fold_channel_priors(channels, log_velocity, options.channel_smoothing, seed=options.seed)
    spec = fit_feature_spec(
        train_data.observations,
        log_velocity,
        max_tokens=options.max_tokens,
        ngram_buckets=options.ngram_buckets,
        channel_smoothing=options.channel_smoothing,
        languages=languages,
        training_priors=priors,
    )
    tokenizer_file = tokenizer_path(options.encoder)
    tokenizer = load_tokenizer(tokenizer_file, spec.max_tokens)
    clock.step("fitted feature spec: %d numeric features, %d n-gram buckets", spec.n_numeric, spec.ngram_buckets)

    source = EmbeddingSource(
        encoder_name=f"{Path(options.encoder).name}-{encoder_fingerprint(options.encoder)}",
        max_tokens=spec.max_tokens,
        tokenizer=tokenizer,
        cache_dir=options.cache_dir,
        load_encoder=lambda: load_encoder(options.encoder),
    )
    train_arrays = regime_arrays(train_rows, spec, source.embed(train_data.observations), tokenizer, priors)
    val_arrays = regime_arrays(val_rows, spec, source.embed(val_data.observations), tokenizer, None)
    clock.step("built inputs for both regimes (embeddings cached under %s)", options.cache_dir)

    embedding_dim = int(train_arrays["post_publish"].embedding.shape[1])
    base = HeadConfig(embedding_dim=embedding_dim, n_numeric=spec.n_numeric, n_buckets=spec.ngram_buckets)
    settings = FitSettings(**{**asdict(options.settings), "seed": options.seed})
    best, results = grid_search(concat(list(train_arrays.values())), val_arrays, base, options.grid, settings)
    clock.step("grid search done; chose %s at epoch %d", best.point.label(), best.epoch)

    calibration, probabilities = _calibrate(best, val_arrays)
    threshold = best_f1_threshold(
        np.concatenate([val_arrays[r].is_viral for r in REGIMES]), np.concatenate([probabilities[r] for r in REGIMES])
    )
    head = best.head()
    val_metrics = {
        regime: regime_metrics(
            val_arrays[regime].is_viral,
            probabilities[regime],
            val_arrays[regime].log_velocity,
            head_outputs(head, val_arrays[regime])[1],
        )
        for regime in REGIMES
    }
    clock.step("calibrated per regime %s, threshold %.4f", calibration, threshold)

    baseline_metrics = {
        "views_only": baselines.views_only(train_rows, val_rows),
        "logistic_scalars_tfidf": baselines.logistic_tfidf(
            train_rows, val_rows, train_arrays, val_arrays, options.seed
        ),
    }
    clock.step("baselines measured")

    options.out.mkdir(parents=True, exist_ok=True)
    bundle = HeadBundle(options.encoder, best.config, calibration["pre_publish"], calibration["post_publish"])
    save_head(options.out, head, bundle)
    save_calibration_observations(
        options.out / CALIBRATION_FILE,
        choose_calibration_observations([row.observation for row in train_rows], options.seed),
    )
    spec.save(options.out / SPEC_FILE)
    copy_tokenizer(tokenizer_file, options.out)
    card = build_card(
        encoder=options.encoder,
        spec=spec,
        threshold=threshold,
        data_sha256=file_sha256(options.data),
        data_name=options.data.name,
        seed=options.seed,
        metrics={"val_torch": val_metrics, "baselines_val": baseline_metrics},
        training={
            "train_rows": len(train_rows),
            "val_rows": len(val_rows),
            "skipped": {"train": dict(train_data.skipped), "val": dict(val_data.skipped)},
            "selected": {**asdict(best.point), "epoch": best.epoch},
            "grid": [
                {**asdict(r.point), "best_epoch": r.epoch, "val_auroc": r.val_auroc, "score": round(r.score, 6)}
                for r in results
            ],
            "calibration": {r: list(calibration[r]) for r in REGIMES},
            "selection": "mean of post- and pre-publish val AUROC; threshold = best F1 on pooled calibrated val",
            "train_seconds": round(clock.total, 1),
        },
    )
    card.save(options.out / CARD_FILE)
    write_quantization_ranges(options.out)
    clock.step("wrote %s (version %s) and its int8 activation ranges", options.out, card.model_version)
    if options.measure_served:
        card = _add_served_metrics(card, options)
        clock.step("val metrics of the exported int8 artifact: %s", card.metrics["val_served"])
    return card


def _add_served_metrics(card: ModelCard, options: TrainOptions) -> ModelCard:
    """Export to a temporary artifact and score val with the Predictor: the numbers of what ships.

    The exported graph does not depend on the card, so rewriting the card afterwards leaves the
    serving artifact (``model.onnx``) byte-identical.
    """
    from miles_core.training.evaluate import evaluate

    served = evaluate(options.out, options.data, options.val_split)
    metrics = {**card.metrics, "val_served": {r: served[r] for r in REGIMES}}
    card = card.model_copy(update={"metrics": metrics})
    card.save(options.out / CARD_FILE)
    return card
