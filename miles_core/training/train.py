"""``miles train``: fit features on train, the head on both regimes, choose everything on val.

Steps (each logged with timings): load rows -> out-of-fold channel priors -> fit the feature spec
-> cached encoder embeddings -> grid search (epochs by early stopping, random group masking) ->
boosted trees (post-publish, viral and breakout) -> text neighbours -> per-regime stacking on val
(= calibration) and decision threshold -> references -> write the trained-model directory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from miles_core.accuracy.metrics import evaluation_report, sigmoid
from miles_core.coverage.population import POPULATION_FILE
from miles_core.dataset import LabelledObservation, load_union
from miles_core.features import FeatureSpec
from miles_core.features.fit import fit_feature_spec, log_velocity_target, out_of_fold_channel_priors
from miles_core.features.groups import unknown_numeric
from miles_core.features.pipeline import load_tokenizer
from miles_core.inference.artifact import CARD_FILE, SCORE_REFERENCE_FILE, SPEC_FILE, ModelCard, ScoreReference
from miles_core.training import baselines
from miles_core.training.calibration import TEMPERING, best_f1_threshold, fit_logistic, temper
from miles_core.training.card import build_card, data_sha256
from miles_core.training.data import REGIMES, EmbeddingSource, RegimeArrays, concat, regime_arrays
from miles_core.training.embeddings import DEFAULT_CACHE_DIR
from miles_core.training.encoder import (
    DEFAULT_ENCODER,
    resolve_layers,
    tokenizer_path,
)
from miles_core.training.evaluate import SERVED_SECTIONS
from miles_core.training.model_dir import (
    CALIBRATION_FILE,
    HeadBundle,
    choose_calibration_observations,
    copy_tokenizer,
    save_calibration_observations,
    save_head,
)
from miles_core.training.neighbours import DEFAULT_NEIGHBOURS, NEIGHBOURS_FILE, TextNeighbours
from miles_core.training.network import STACK_TARGETS, Head, HeadConfig, Stacking
from miles_core.training.onnx_export import write_quantization_ranges
from miles_core.training.population_fit import describe_split
from miles_core.training.trained import regime_outputs
from miles_core.training.trainer import (
    DEFAULT_GRID,
    MASKED_GROUPS,
    FitSettings,
    GridPoint,
    GroupMasks,
    fit_ensemble,
    grid_search,
)
from miles_core.training.trees import TREE_TARGETS, TREES_FILE, TreeEnsemble, fit_boosted_trees, from_sklearn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    """Everything ``miles train`` can be told; defaults are the shipped model's settings."""

    data: Path | tuple[Path, ...]
    """One benchmark-schema CSV, or several trained on as one (their ``train`` rows, selected on their ``val`` rows)."""
    out: Path
    encoder: str = DEFAULT_ENCODER
    seed: int = 0
    encoder_layers: int | None = None
    """Keep only the first k transformer layers of the encoder (``None``: all); the export keeps the same k."""
    max_tokens: int = 32
    """Token budget of "title | first tags". 32, not the earlier 48: val AUROC stayed within 0.002 in both
    regimes and title + tags batches got faster (measured in docs/model.md, "Encoder depth and token budget")."""
    ngram_buckets: int = 1024
    channel_smoothing: float = 3.0
    cache_dir: Path | None = DEFAULT_CACHE_DIR
    grid: Sequence[GridPoint] = DEFAULT_GRID
    settings: FitSettings = field(default_factory=FitSettings)
    ensemble_size: int = 5
    """Seeds of the chosen grid point whose heads are averaged."""
    text_neighbours: int = DEFAULT_NEIGHBOURS
    """How many most-alike training videos the pre-publish text-neighbour prior averages."""
    train_split: str = "train"
    val_split: str = "val"
    measure_served: bool = True

    @property
    def data_files(self) -> tuple[Path, ...]:
        return self.data if isinstance(self.data, tuple) else (self.data,)


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


@dataclass(frozen=True)
class StackedModel:
    """Network, boosted trees, text neighbours and the per-regime stacking: what the artifact computes."""

    head: Head
    trees: TreeEnsemble
    neighbours: TextNeighbours
    stacking: Stacking

    def outputs(self, arrays: RegimeArrays, regime: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Calibrated viral logits, log1p velocity and calibrated breakout logits of ``regime`` rows."""
        raw = regime_outputs(self.head, self.trees, self.neighbours, arrays, regime)
        weights = self.stacking[regime]
        viral, breakout = (
            weights[target][0] * raw.network(target)
            + weights[target][1] * raw.trees[:, TREE_TARGETS.index(target)]
            + weights[target][2] * raw.prior
            + weights[target][3]
            for target in STACK_TARGETS
        )
        return viral, raw.velocity, breakout


def fit_trees(
    train: dict[str, RegimeArrays], val: dict[str, RegimeArrays], seed: int
) -> tuple[TreeEnsemble, dict[str, Any]]:
    """Boosted trees on post-publish train rows (all numeric features), viral and breakout, sizes chosen on val.

    Post-publish only: fitted on both regimes mixed they were clearly worse, and pre-publish they
    trail the network (which carries text), so the pre-publish stacking gives them no weight.
    """
    t, v = train["post_publish"], val["post_publish"]
    fitted = {
        "viral": fit_boosted_trees(t.numeric, t.is_viral, v.numeric, v.is_viral, seed),
        "breakout": fit_boosted_trees(t.numeric, t.breakout, v.numeric, v.breakout, seed),
    }
    models = [fitted[target] for target in TREE_TARGETS]
    ensemble = from_sklearn(
        [None if f is None else f.model for f in models],
        [0 if f is None else f.n_iter for f in models],
        n_features=t.numeric.shape[1],
    )
    summary = {
        target: None if f is None else {"n_iter": f.n_iter, "val_auroc_post_publish": round(f.val_auroc, 6)}
        for target, f in fitted.items()
    }
    return ensemble, summary


def fit_stacking(head: Head, trees: TreeEnsemble, neighbours: TextNeighbours, val: dict[str, RegimeArrays]) -> Stacking:
    """Per regime and target, a logistic regression on val: (network logit, side score) -> label.

    This is stacking and calibration in one (it replaces per-regime Platt scaling). The side score
    is what the network lacks in that regime: post-publish the boosted trees' score (fitted on
    post-publish rows, they trail the network pre-publish), pre-publish the text-neighbour prior
    (no counts exist there; see :mod:`miles_core.training.neighbours`). The other weight is 0. The viral
    stacking is then tempered towards val's base rate (:data:`TEMPERING`): it is served on later months.
    """
    stacking: Stacking = {}
    for regime in REGIMES:
        raw = regime_outputs(head, trees, neighbours, val[regime], regime)
        stacking[regime] = {}
        for target in STACK_TARGETS:
            labels = raw.labels(target)
            weights = fit_logistic(np.stack([raw.network(target), raw.side(target)], axis=1), labels)
            if target == "viral":
                weights = temper(weights, labels, TEMPERING[regime])
            a_net, a_side, bias = weights
            if regime == "post_publish":
                stacking[regime][target] = (a_net, a_side, 0.0, bias)
            else:
                stacking[regime][target] = (a_net, 0.0, a_side, bias)
    return stacking


SELECTION = (
    "network: mean of post- and pre-publish val AUROC; trees: n_iter by val AUROC; stacking "
    "(network logit, tree score) post-publish and (network logit, text-neighbour prior) pre-publish "
    "-> label by logistic regression on val per regime and target, the viral one tempered towards "
    f"val's base rate by {TEMPERING} (chosen on time-ordered val); "
    "threshold = best F1 on pooled calibrated val"
)
"""How every choice on val was made: written into the card by ``miles train`` and ``miles restack``."""


@dataclass(frozen=True)
class ValStacking:
    """What val decides once the network, trees and neighbours exist: stacking, threshold and the reference."""

    stacking: Stacking
    threshold: float
    report: dict[str, Any]
    logits: dict[str, np.ndarray]
    """Calibrated viral logits of val per regime: the score reference ``miles_score`` ranks against."""

    def score_reference(self) -> ScoreReference:
        return ScoreReference(
            post_publish=sorted(round(float(v), 6) for v in self.logits["post_publish"]),
            pre_publish=sorted(round(float(v), 6) for v in self.logits["pre_publish"]),
        )


def stack_on_val(
    head: Head,
    trees: TreeEnsemble,
    neighbours: TextNeighbours,
    val: dict[str, RegimeArrays],
    known_channel: np.ndarray,
) -> ValStacking:
    """Stacking (= calibration), its val report and the pooled best-F1 threshold (``train`` and ``restack``)."""
    stacking = fit_stacking(head, trees, neighbours, val)
    report, logits = model_report(StackedModel(head, trees, neighbours, stacking), val, known_channel)
    threshold = best_f1_threshold(
        np.concatenate([val[r].is_viral for r in REGIMES]),
        np.concatenate([sigmoid(logits[r]) for r in REGIMES]),
    )
    return ValStacking(stacking, threshold, report, logits)


def known_channels(rows: Sequence[LabelledObservation], spec: FeatureSpec) -> np.ndarray:
    """True where the row's channel is in the spec's channel-prior table (seen in training)."""
    return np.array([r.observation.channel_id in spec.channel_prior.table for r in rows], dtype=bool)


def model_report(
    model: StackedModel, val: dict[str, RegimeArrays], known_channel: np.ndarray
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The evaluation report of the torch-side model on val, and its calibrated viral logits per regime."""
    outputs = {regime: model.outputs(val[regime], regime) for regime in REGIMES}
    report = evaluation_report(
        is_viral=val["post_publish"].is_viral,
        log_velocity=val["post_publish"].log_velocity,
        breakout=val["post_publish"].breakout,
        known_channel=known_channel,
        viral_probability={r: sigmoid(outputs[r][0]) for r in REGIMES},
        predicted_log_velocity={r: outputs[r][1] for r in REGIMES},
        breakout_probability={r: sigmoid(outputs[r][2]) for r in REGIMES},
    )
    return report, {r: outputs[r][0] for r in REGIMES}


def group_masks(spec: FeatureSpec, source: EmbeddingSource) -> GroupMasks:
    """The unknown values training-time masking writes (the empty text's embedding comes from the cache)."""
    empty = source.embed_texts([""])[0]
    return GroupMasks(
        empty_embedding=empty.astype(np.float32),
        numeric={group: unknown_numeric(spec, group) for group in MASKED_GROUPS if group not in ("text", "lexical")},
    )


def train(options: TrainOptions) -> ModelCard:
    """Train, select and calibrate on val, write ``options.out``; returns the model card."""
    import torch

    torch.manual_seed(options.seed)
    torch.use_deterministic_algorithms(True)
    clock = _Clock()
    train_data = load_union(options.data_files, options.train_split)
    languages = _languages(train_data.rows)
    val_data = load_union(options.data_files, options.val_split, supported_languages=languages)
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
        sources=train_data.sources,
    )
    tokenizer_file = tokenizer_path(options.encoder)
    tokenizer = load_tokenizer(tokenizer_file, spec.max_tokens)
    clock.step("fitted feature spec: %d numeric features, %d n-gram buckets", spec.n_numeric, spec.ngram_buckets)

    layers = resolve_layers(options.encoder, options.encoder_layers)
    source = EmbeddingSource.of_encoder(options.encoder, spec.max_tokens, tokenizer, options.cache_dir, layers)
    train_arrays = regime_arrays(train_rows, spec, source.embed(train_data.observations), tokenizer, priors)
    val_arrays = regime_arrays(val_rows, spec, source.embed(val_data.observations), tokenizer, None)
    masks = group_masks(spec, source)
    clock.step("built inputs for both regimes (%d encoder layers; embeddings cached under %s)", layers,
               options.cache_dir)  # fmt: skip

    embedding_dim = int(train_arrays["post_publish"].embedding.shape[1])
    base = HeadConfig(embedding_dim=embedding_dim, n_numeric=spec.n_numeric, n_buckets=spec.ngram_buckets)
    settings = FitSettings(**{**asdict(options.settings), "seed": options.seed})
    both = concat(list(train_arrays.values()))
    best, results = grid_search(both, val_arrays, base, options.grid, settings, masks)
    clock.step("grid search done; chose %s at epoch %d", best.point.label(), best.epoch)
    head, members = fit_ensemble(both, val_arrays, base, best, settings, options.ensemble_size, masks)
    clock.step("trained %d seeds of the chosen head (epochs %s)", len(members), [m.epoch for m in members])

    trees, tree_summary = fit_trees(train_arrays, val_arrays, options.seed)
    neighbours = TextNeighbours.fit(
        train_arrays["post_publish"].embedding, train_arrays["post_publish"].log_velocity, options.text_neighbours
    )
    stacked = stack_on_val(head, trees, neighbours, val_arrays, known_channels(val_rows, spec))
    stacking, threshold, val_metrics = stacked.stacking, stacked.threshold, stacked.report
    clock.step("boosted trees %s; stacking per regime %s, threshold %.4f", tree_summary, stacking, threshold)

    references = baselines.all_references(train_rows, val_rows, train_arrays, val_arrays, spec, options.seed)
    clock.step("references measured")

    options.out.mkdir(parents=True, exist_ok=True)
    save_head(options.out, head, HeadBundle(options.encoder, best.config, stacking, len(members), layers))
    trees.save(options.out / TREES_FILE)
    neighbours.save(options.out / NEIGHBOURS_FILE)
    stacked.score_reference().save(options.out / SCORE_REFERENCE_FILE)
    save_calibration_observations(
        options.out / CALIBRATION_FILE,
        choose_calibration_observations([row.observation for row in train_rows], options.seed),
    )
    spec.save(options.out / SPEC_FILE)
    describe_split(options.data_files, options.train_split).save(options.out / POPULATION_FILE)
    copy_tokenizer(tokenizer_file, options.out)
    card = build_card(
        encoder=options.encoder,
        encoder_layers=layers,
        spec=spec,
        threshold=threshold,
        data_sha256=data_sha256(options.data_files),
        data_name="+".join(path.name for path in options.data_files),
        seed=options.seed,
        metrics={"val_torch": val_metrics, "references_val": references},
        training={
            "train_rows": len(train_rows),
            "val_rows": len(val_rows),
            "skipped": {"train": dict(train_data.skipped), "val": dict(val_data.skipped)},
            "selected": {**asdict(best.point), "epoch": best.epoch},
            "ensemble": [
                {"seed": m.seed, "epoch": m.epoch, "val_auroc": m.val_auroc, "val_breakout_auroc": m.breakout_auroc}
                for m in members
            ],
            "grid": [
                {
                    **asdict(r.point),
                    "best_epoch": r.epoch,
                    "val_auroc": r.val_auroc,
                    "val_breakout_auroc": r.breakout_auroc,
                    "score": round(r.score, 6),
                }
                for r in results
            ],
            "boosted_trees": tree_summary,
            "text_neighbours": {"k": neighbours.k, "videos": len(neighbours.log_velocity)},
            "stacking": {r: {t: list(stacking[r][t]) for t in STACK_TARGETS} for r in REGIMES},
            "selection": SELECTION,
            "train_seconds": round(clock.total, 1),
        },
    )
    card.save(options.out / CARD_FILE)
    write_quantization_ranges(options.out)
    clock.step("wrote %s (version %s) and its int8 activation ranges", options.out, card.model_version)
    if options.measure_served:
        card = add_served_metrics(card, options.out, options.data_files[0], options.val_split)
        clock.step("val metrics of the exported int8 artifact: %s", card.metrics["val_served"])
    return card


def add_served_metrics(card: ModelCard, model_dir: Path, data: Path, val_split: str) -> ModelCard:
    """Export to a temporary artifact and score val with the Predictor: the numbers of what ships.

    The exported graph does not depend on the card, so rewriting the card afterwards leaves the
    serving artifact (``model.onnx``) byte-identical.
    """
    from miles_core.training.evaluate import evaluate

    served = evaluate(model_dir, data, val_split)
    metrics = {**card.metrics, "val_served": {k: v for k, v in served.items() if k in SERVED_SECTIONS}}
    card = card.model_copy(update={"metrics": metrics})
    card.save(model_dir / CARD_FILE)
    return card
