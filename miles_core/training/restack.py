"""``miles restack``: re-fit what val decides (stacking = calibration, threshold, score reference) on a trained
model, keeping its network, trees, neighbours and feature spec.

Calibration drifts between months while the network's ranking holds; re-fitting the stacking on the newest
labelled rows is how a served model is recalibrated without a full retrain (minutes of CPU instead of an hour).
The card gets a new version (the stream scorer re-scores on a version change) and new val metrics.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from miles_core.inference.artifact import CARD_FILE, SCORE_REFERENCE_FILE, ModelCard
from miles_core.training.card import build_card, file_sha256
from miles_core.training.embeddings import DEFAULT_CACHE_DIR
from miles_core.training.model_dir import save_head
from miles_core.training.network import STACK_TARGETS
from miles_core.training.onnx_export import write_quantization_ranges
from miles_core.training.train import SELECTION, add_served_metrics, known_channels, stack_on_val
from miles_core.training.trained import TrainedModel


def restack(
    model_dir: Path,
    data: Path,
    val_split: str = "val",
    cache_dir: Path | None = DEFAULT_CACHE_DIR,
    measure_served: bool = True,
) -> ModelCard:
    """Re-fit the stacking, threshold and score reference of ``model_dir`` on ``data``'s ``val_split``."""
    model = TrainedModel.load(model_dir, cache_dir)
    head, bundle, spec, layers = model.head, model.bundle, model.spec, model.layers
    before = ModelCard.load(model_dir / CARD_FILE)
    val_rows = model.rows(data, val_split)
    stacked = stack_on_val(head, model.trees, model.neighbours, model.arrays(val_rows), known_channels(val_rows, spec))

    save_head(model_dir, head, dataclasses.replace(bundle, stacking=stacked.stacking))
    stacked.score_reference().save(model_dir / SCORE_REFERENCE_FILE)
    training = dict(getattr(before, "training", None) or {})
    training.update(
        stacking={r: {t: list(stacked.stacking[r][t]) for t in STACK_TARGETS} for r in stacked.stacking},
        selection=SELECTION,
        restacked_on={"file": data.name, "split": val_split, "rows": len(val_rows)},
    )
    card = build_card(
        encoder=bundle.encoder,
        encoder_layers=layers,
        spec=spec,
        threshold=stacked.threshold,
        data_sha256=file_sha256(data),
        data_name=data.name,
        seed=int(getattr(before, "seed", 0)),
        metrics={"val_torch": stacked.report, "references_val": before.metrics.get("references_val", {})},
        training=training,
    )
    card.save(model_dir / CARD_FILE)
    write_quantization_ranges(model_dir)
    return add_served_metrics(card, model_dir, data, val_split) if measure_served else card
