"""``miles evaluate``: score a benchmark-schema CSV with the *served* artifact, both regimes.

Scoring goes through :class:`miles_core.inference.Predictor` (int8 ONNX + tokenizers + the saved
feature spec), so the numbers describe exactly what ships, not the torch model it came from.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from miles_core.accuracy.metrics import evaluation_report, sigmoid
from miles_core.dataset import load_benchmark
from miles_core.inference import Predictor
from miles_core.inference.artifact import ONNX_FILE
from miles_core.training.data import REGIMES, breakout_targets, targets

logger = logging.getLogger(__name__)
SCORING_BATCH = 64


@contextmanager
def served_artifact(model_dir: Path) -> Iterator[Path]:
    """``model_dir`` itself when it is a serving artifact, else a temporary export of the trained head."""
    if (model_dir / ONNX_FILE).is_file():
        yield model_dir
        return
    from miles_core.training.onnx_export import export_trained

    with tempfile.TemporaryDirectory(prefix="miles-eval-") as scratch:
        logger.info("%s has no %s: exporting it to a temporary serving artifact first", model_dir, ONNX_FILE)
        export_trained(model_dir, Path(scratch))
        yield Path(scratch)


def score(predictor: Predictor, observations: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated viral logits and predicted log1p velocity, in batches sorted by text length."""
    outputs = score_all(predictor, observations)
    return outputs[0], outputs[1]


def score_all(predictor: Predictor, observations: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibrated viral logits, log1p velocity and calibrated breakout logits, batched by text length."""
    order = sorted(range(len(observations)), key=lambda i: len(observations[i].title))
    out = [np.zeros(len(observations)) for _ in range(3)]
    for start in range(0, len(order), SCORING_BATCH):
        rows = order[start : start + SCORING_BATCH]
        outputs = predictor.outputs([observations[i] for i in rows])
        out[0][rows], out[1][rows] = outputs.viral_logit, outputs.log_velocity
        out[2][rows] = outputs.breakout_logit
    return out[0], out[1], out[2]


def output_difference(logits: np.ndarray, reference_logits: np.ndarray) -> dict[str, float]:
    """How far one artifact's viral logits are from another's on the same rows (e.g. int8 vs fp32)."""
    difference = np.abs(logits - reference_logits)
    return {
        "max": round(float(difference.max()), 6),
        "p99": round(float(np.quantile(difference, 0.99)), 6),
        "mean": round(float(difference.mean()), 6),
    }


SERVED_SECTIONS = (
    "post_publish",
    "pre_publish",
    "breakout",
    "pre_publish_known_channel",
    "pre_publish_unknown_channel",
)
"""The parts of the report that describe the served model (the card keeps them as ``val_served``)."""


def evaluate(model_dir: Path, data: Path, split: str | None = None, reference: Path | None = None) -> dict[str, Any]:
    """The issue's JSON object: n, per-regime metrics, breakout, pre-publish by channel, the model version.

    ``references_val`` repeats the card's references (fitted on train, measured on val by ``miles
    train``) so they print beside the served numbers. With ``reference`` (another serving artifact,
    e.g. the fp32 export of the same model), each regime also reports ``logit_difference_vs_reference``.
    """
    with served_artifact(model_dir) as artifact:
        predictor = Predictor(artifact)
        other = Predictor(reference) if reference is not None else None
        dataset = load_benchmark(data, split, supported_languages=predictor.spec.languages)
        labels, log_velocity = targets(dataset.rows)
        viral: dict[str, np.ndarray] = {}
        velocity: dict[str, np.ndarray | None] = {}
        breakout: dict[str, np.ndarray | None] = {}
        differences: dict[str, dict[str, float]] = {}
        for regime in REGIMES:
            observations = [
                r.observation if regime == "post_publish" else r.observation.as_pre_publish() for r in dataset.rows
            ]
            logits, velocity[regime], breakout_logits = score_all(predictor, observations)
            viral[regime], breakout[regime] = sigmoid(logits), sigmoid(breakout_logits)
            if other is not None:
                differences[regime] = output_difference(logits, score(other, observations)[0])
        known = np.array([r.observation.channel_id in predictor.spec.channel_prior.table for r in dataset.rows])
        report = evaluation_report(
            is_viral=labels,
            log_velocity=log_velocity,
            breakout=breakout_targets(dataset.rows),
            known_channel=known,
            viral_probability=viral,
            predicted_log_velocity=velocity,
            breakout_probability=breakout,
        )
        result: dict[str, Any] = {"n": len(dataset.rows), **report}
        for regime, difference in differences.items():
            result[regime]["logit_difference_vs_reference"] = difference
        result["model_version"] = predictor.version
        result["references_val"] = predictor.card.metrics.get("references_val")
    if dataset.skipped:
        logger.warning("evaluated %d rows; skipped %s", len(dataset.rows), dict(dataset.skipped))
    return result


def comparison_table(result: dict[str, Any]) -> str:
    """A Markdown table: the served model's AUROCs beside every reference's (references: val, from the card)."""
    columns = (
        ("post_publish", ("post_publish",)),
        ("pre_publish", ("pre_publish",)),
        ("pre unseen channel", ("pre_publish_unknown_channel",)),
        ("breakout post", ("breakout", "post_publish")),
        ("breakout pre", ("breakout", "pre_publish")),
    )

    def cell(report: dict[str, Any], path: tuple[str, ...]) -> str:
        section: Any = report
        for key in path:
            section = section.get(key) if isinstance(section, dict) else None
        if not isinstance(section, dict) or section.get("auroc") is None:
            return "-"
        return f"{section['auroc']:.4f}"

    def row(name: str, report: dict[str, Any]) -> str:
        return f"| {name} | " + " | ".join(cell(report, path) for _, path in columns) + " |"

    lines = [
        "| AUROC | " + " | ".join(name for name, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
        row(f"served model ({result['n']} rows)", result),
    ]
    for name, reference in (result.get("references_val") or {}).items():
        if isinstance(reference, dict):
            lines.append(row(f"{name} (val, card)", reference))
    return "\n".join(lines)
