"""Score a few benchmark rows with an artifact and save the raw outputs: run natively and on an emulated CPU.

``python -m tests.support.isa_scores MODEL_DIR OBSERVATIONS.jsonl OUT.npz`` writes the viral logits
and log1p velocities of the observations (one JSON ``Observation`` per line), plus the CPU features
numpy detected (``AVX2``, ``AVX512F``, ...), so a test can prove which kernels ran where. Kept tiny:
under an emulated CPU every Python instruction is slow.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from miles_core.inference import Predictor
from miles_core.observation import Observation

FEATURES = ("AVX2", "FMA3", "AVX512F", "AVX512_CLX", "AVX512_ICL")
"""numpy's runtime CPU feature names; AVX512_CLX and newer imply AVX-512 VNNI."""


def cpu_features() -> dict[str, bool]:
    """What the CPU this process runs on reports through CPUID (as numpy's dispatcher sees it)."""
    from numpy._core._multiarray_umath import __cpu_features__

    return {name: bool(__cpu_features__.get(name, False)) for name in FEATURES}


def main(model_dir: str, observations_path: str, out: str) -> None:
    predictor = Predictor(Path(model_dir), threads=1)
    lines = Path(observations_path).read_text(encoding="utf-8").splitlines()
    observations = [Observation.model_validate_json(line) for line in lines]
    logits, velocity = predictor.raw_outputs(observations)
    features = cpu_features()
    np.savez(out, logits=logits, velocity=velocity, **features)  # each flag saved as a 0-d bool array


if __name__ == "__main__":
    main(*sys.argv[1:])
