"""Numpy arrays of a trained-model directory, stored as safetensors (byte-stable, no pickle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to one safetensors file, readable by the image's other user (safetensors writes 0600)."""
    from safetensors.numpy import save_file

    save_file({name: np.ascontiguousarray(array) for name, array in arrays.items()}, str(path))
    path.chmod(0o644)


def load_arrays(path: Path, what: str) -> dict[str, np.ndarray]:
    """Read a file written by :func:`save_arrays`; a missing file names the command that writes ``what``."""
    from safetensors.numpy import load_file

    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: retrain with `miles train` (it writes the {what})")
    return load_file(str(path))
