"""The trained-model directory (``miles train`` output, committed as ``miles_core/artifacts/default``).

It holds what training learned, not the encoder: ``head.safetensors`` (fusion head weights),
``head_config.json`` (head shape, per-regime stacking, encoder name), ``trees.safetensors``,
``text_neighbours.safetensors`` (the training embeddings' principal axes and the embeddings projected
on them, float16: derivable from the encoder and the data, but stored so an export never depends on
the build machine's float rounding),
``feature_spec.json``, ``model_card.json`` and ``tokenizer.json``. ``miles export`` turns it into
a serving artifact by adding the frozen encoder back and writing ONNX.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from miles_core.inference.artifact import CARD_FILE, HEAD_WEIGHTS_FILE, SCORE_REFERENCE_FILE, SPEC_FILE, TOKENIZER_FILE
from miles_core.observation import Observation
from miles_core.training.neighbours import NEIGHBOURS_FILE
from miles_core.training.network import STACK_REGIMES, STACK_TARGETS, HeadConfig, HeadEnsemble, Stacking, StackWeights
from miles_core.training.trees import TREES_FILE

HEAD_CONFIG_FILE = "head_config.json"
CALIBRATION_FILE = "calibration_observations.jsonl"
"""Training observations (both regimes) that fix the int8 activation ranges at export time."""
CALIBRATION_SIZE = 1024
QUANTIZATION_RANGES_FILE = "quantization_ranges.json"
"""The int8 activation ranges measured on the calibration observations (onnxruntime's calibration-cache
JSON). Measured once at training and committed, so an export on any machine quantizes identically."""
TRAINED_FILES = (
    HEAD_WEIGHTS_FILE,
    HEAD_CONFIG_FILE,
    TREES_FILE,
    NEIGHBOURS_FILE,
    SPEC_FILE,
    CARD_FILE,
    TOKENIZER_FILE,
    CALIBRATION_FILE,
    SCORE_REFERENCE_FILE,
)
"""What a trained head needs; an *exportable* directory also has ``QUANTIZATION_RANGES_FILE``."""


@dataclass(frozen=True)
class HeadBundle:
    """Everything in ``head_config.json``: how to rebuild the head and stack/calibrate its logits."""

    encoder: str
    head: HeadConfig
    stacking: Stacking
    """regime -> target -> (network, tree, text-neighbour weights, bias), fitted on val."""
    ensemble_size: int = 1
    """How many seeds of the head are averaged (:class:`HeadEnsemble`)."""
    encoder_layers: int | None = None
    """The first ``encoder_layers`` transformer layers of ``encoder`` feed the head (``None``: all, as
    written before the option existed); the export keeps only those."""

    def to_json(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder,
            "encoder_layers": self.encoder_layers,
            "head": self.head.to_dict(),
            "ensemble_size": self.ensemble_size,
            "stacking": {
                regime: {target: list(self.stacking[regime][target]) for target in STACK_TARGETS}
                for regime in STACK_REGIMES
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HeadBundle:
        stacking = data["stacking"]
        return cls(
            encoder=str(data["encoder"]),
            encoder_layers=None if data.get("encoder_layers") is None else int(data["encoder_layers"]),
            head=HeadConfig(**data["head"]),
            ensemble_size=int(data.get("ensemble_size", 1)),
            stacking={
                regime: {target: _stack_weights(stacking[regime][target]) for target in STACK_TARGETS}
                for regime in STACK_REGIMES
            },
        )


def _stack_weights(values: list[float]) -> StackWeights:
    if len(values) != 4:
        raise ValueError(
            f"stacking weights {values} are not (network, trees, text neighbours, bias): "
            "the model predates the text-neighbour prior; retrain with `miles train`"
        )
    return float(values[0]), float(values[1]), float(values[2]), float(values[3])


def save_head(directory: Path, head: HeadEnsemble, bundle: HeadBundle) -> None:
    """Write ``head.safetensors`` (contiguous fp32 tensors, sorted keys: byte-stable) and its config."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous().clone() for name, tensor in sorted(head.state_dict().items())}
    save_file(state, str(directory / HEAD_WEIGHTS_FILE))
    (directory / HEAD_WEIGHTS_FILE).chmod(0o644)  # safetensors writes 0600; images build as another user
    (directory / HEAD_CONFIG_FILE).write_text(json.dumps(bundle.to_json(), indent=1) + "\n", encoding="utf-8")


def load_head(directory: Path) -> tuple[HeadEnsemble, HeadBundle]:
    """The trained head (eval mode) and its bundle; a clear error when files are missing."""
    from safetensors.torch import load_file

    missing = [name for name in TRAINED_FILES if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{directory} is not a trained model directory (missing {', '.join(missing)}); "
            "create one with `miles train --data CSV --out DIR`"
        )
    bundle = HeadBundle.from_json(json.loads((directory / HEAD_CONFIG_FILE).read_text(encoding="utf-8")))
    head = HeadEnsemble(bundle.head, bundle.ensemble_size)
    head.load_state_dict(load_file(str(directory / HEAD_WEIGHTS_FILE)))
    return head.eval(), bundle


def copy_tokenizer(source: Path, directory: Path) -> None:
    """Ship the encoder's tokenizer with the head, so serving never needs the encoder package."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, directory / TOKENIZER_FILE)


def choose_calibration_observations(train: Sequence[Observation], seed: int) -> list[Observation]:
    """A seeded sample of training videos, alternately post- and pre-publish (both regimes ship)."""
    sampler = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    picked = sampler.sample(range(len(train)), min(CALIBRATION_SIZE, len(train)))
    return [train[i] if n % 2 == 0 else train[i].as_pre_publish() for n, i in enumerate(sorted(picked))]


def save_calibration_observations(path: Path, observations: Sequence[Observation]) -> None:
    """One JSON observation per line (committed with the model: the export needs no dataset)."""
    lines = (o.model_dump_json(exclude_none=True) for o in observations)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_calibration_observations(path: Path) -> list[Observation]:
    """Read what :func:`save_calibration_observations` wrote; a missing file says how to fix it."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: retrain with `miles train` to write calibration observations")
    return [Observation.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
