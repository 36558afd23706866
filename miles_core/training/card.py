"""Model card provenance: version string, training data hash, code commit.

The version is derived from content (encoder, data hash, code commit, seed), never from the clock,
so retraining the same inputs yields the same card and the same serving artifact.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

from miles_core.accuracy.metrics import ECE_BINS
from miles_core.features import FeatureSpec
from miles_core.inference.artifact import ModelCard

QUANTIZATION_TAG = "int8w7"
"""Part of every model version: how the served encoder is quantized (7-bit weights, see
``miles_core.training.onnx_export.quantize_int8``). A new scheme changes served numbers, so it must change
the version (the stream scorer re-scores a video only when stats or model version change)."""

VIRAL_DEFINITION = (
    "is_viral: views gained per hour over the next ~24 h >= 26,247.7 (80th percentile of the benchmark train split)"
)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (the training data's identity in the card)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_sha256(paths: tuple[Path, ...]) -> str:
    """The training data's identity: one file's SHA-256, or the SHA-256 of several files' digests in order."""
    if len(paths) == 1:
        return file_sha256(paths[0])
    return hashlib.sha256("".join(file_sha256(path) for path in paths).encode()).hexdigest()


def code_commit() -> dict[str, Any]:
    """The git commit the code was at, and whether the tree had uncommitted changes."""
    root = Path(__file__).resolve().parents[2]
    git = shutil.which("git")
    if git is None:
        return {"commit": "unknown", "dirty": None}
    try:
        commit = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [git, "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(  # noqa: S603
            # The trained-model directory is training's own output (written before the card): not code.
            [git, "status", "--porcelain", "--", "miles_core", ":(exclude)miles_core/models"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def build_card(
    *,
    encoder: str,
    encoder_layers: int,
    spec: FeatureSpec,
    threshold: float,
    data_sha256: str,
    data_name: str,
    seed: int,
    metrics: dict[str, Any],
    training: dict[str, Any],
) -> ModelCard:
    """The card written next to the trained head (and copied into every serving artifact).

    The encoder depth is part of the version: a different depth gives different scores, and the
    stream scorer re-scores a video only when its stats or the model version change.
    """
    code = code_commit()
    encoder_name = Path(encoder).name
    version = (
        f"miles-{encoder_name}-L{encoder_layers}-{spec.version}-data.{data_sha256[:8]}-code.{code['commit'][:8]}-seed.{seed}"
        f"-{QUANTIZATION_TAG}"
    )
    return ModelCard.model_validate(
        {
            "model_version": version,
            "encoder": encoder_name,
            "encoder_layers": encoder_layers,
            "feature_version": spec.version,
            "threshold": threshold,
            "viral_definition": VIRAL_DEFINITION,
            "metrics": {"ece_binning": f"{ECE_BINS} equal-width bins over [0, 1]", **metrics},
            "training_data": {"file": data_name, "sha256": data_sha256},
            "code": code,
            "seed": seed,
            "max_tokens": spec.max_tokens,
            "training": training,
        }
    )
