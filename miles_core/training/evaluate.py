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

from miles_core.dataset import load_benchmark
from miles_core.inference import Predictor
from miles_core.inference.artifact import ONNX_FILE
from miles_core.training.data import REGIMES, targets
from miles_core.training.metrics import regime_metrics, sigmoid

logger = logging.getLogger(__name__)
SCORING_BATCH = 64


@contextmanager
def served_artifact(model_dir: Path) -> Iterator[Path]:
    """``model_dir`` itself when it is a serving artifact, else a temporary export of the trained head."""
    if (model_dir / ONNX_FILE).is_file():
        yield model_dir
        return
    from miles_core.training.export import export_trained

    with tempfile.TemporaryDirectory(prefix="miles-eval-") as scratch:
        logger.info("%s has no %s: exporting it to a temporary serving artifact first", model_dir, ONNX_FILE)
        export_trained(model_dir, Path(scratch))
        yield Path(scratch)


def score(predictor: Predictor, observations: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated viral logits and predicted log1p velocity, in batches sorted by text length."""
    order = sorted(range(len(observations)), key=lambda i: len(observations[i].title))
    logits = np.zeros(len(observations))
    velocity = np.zeros(len(observations))
    for start in range(0, len(order), SCORING_BATCH):
        rows = order[start : start + SCORING_BATCH]
        batch_logits, batch_velocity = predictor.raw_outputs([observations[i] for i in rows])
        logits[rows], velocity[rows] = batch_logits, batch_velocity
    return logits, velocity


def output_difference(logits: np.ndarray, reference_logits: np.ndarray) -> dict[str, float]:
    """How far one artifact's viral logits are from another's on the same rows (e.g. int8 vs fp32)."""
    difference = np.abs(logits - reference_logits)
    return {
        "max": round(float(difference.max()), 6),
        "p99": round(float(np.quantile(difference, 0.99)), 6),
        "mean": round(float(difference.mean()), 6),
    }


def evaluate(model_dir: Path, data: Path, split: str | None = None, reference: Path | None = None) -> dict[str, Any]:
    """The issue's JSON object: n, per-regime metrics and the model version.

    With ``reference`` (another serving artifact, e.g. the fp32 export of the same model), each
    regime also reports ``logit_difference_vs_reference``: max, p99 and mean |viral logit difference|.
    """
    with served_artifact(model_dir) as artifact:
        predictor = Predictor(artifact)
        other = Predictor(reference) if reference is not None else None
        dataset = load_benchmark(data, split, supported_languages=predictor.spec.languages)
        labels, log_velocity = targets(dataset.rows)
        result: dict[str, Any] = {"n": len(dataset.rows)}
        for regime in REGIMES:
            observations = [
                r.observation if regime == "post_publish" else r.observation.as_pre_publish() for r in dataset.rows
            ]
            logits, predicted = score(predictor, observations)
            result[regime] = regime_metrics(labels, sigmoid(logits), log_velocity, predicted)
            if other is not None:
                reference_logits = score(other, observations)[0]
                result[regime]["logit_difference_vs_reference"] = output_difference(logits, reference_logits)
        result["model_version"] = predictor.version
    if dataset.skipped:
        logger.warning("evaluated %d rows; skipped %s", len(dataset.rows), dict(dataset.skipped))
    return result
