"""Export encoder + head + calibration to ONNX, quantize to int8, write a serving artifact.

Deterministic: the same trained head, spec and encoder give byte-identical ``model.onnx``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import torch
from torch import nn

from miles_core.features import FeatureSpec
from miles_core.inference.artifact import (
    CARD_FILE,
    ONNX_FILE,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    SPEC_FILE,
    TOKENIZER_FILE,
)
from miles_core.training.model import ServingModel

logger = logging.getLogger(__name__)
OPSET = 17


def stats_known_split(spec: FeatureSpec) -> tuple[int, float]:
    """Index of the ``stats_known`` feature and the standardised value halfway between 0 and 1."""
    index = spec.numeric_names.index("stats_known")
    return index, (0.5 - spec.mean[index]) / spec.std[index]


def example_inputs(spec: FeatureSpec, batch: int = 2, tokens: int = 8) -> tuple[torch.Tensor, ...]:
    """Dummy inputs used only to trace the graph (all axes but features are dynamic)."""
    return (
        torch.ones((batch, tokens), dtype=torch.long),
        torch.ones((batch, tokens), dtype=torch.long),
        torch.zeros((batch, spec.n_numeric), dtype=torch.float32),
        torch.zeros((batch, spec.ngram_buckets), dtype=torch.float32),
    )


def export_onnx(model: ServingModel, spec: FeatureSpec, path: Path) -> None:
    """Trace ``model`` (in eval mode, so dropout is off) to an fp32 ONNX graph."""
    model.eval()
    with torch.no_grad():
        torch.onnx.export(
            model,
            example_inputs(spec),
            str(path),
            input_names=list(ONNX_INPUTS),
            output_names=list(ONNX_OUTPUTS),
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "numeric": {0: "batch"},
                "lexical": {0: "batch"},
                "viral_logit": {0: "batch"},
                "log_velocity": {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def quantize_int8(fp32_path: Path, int8_path: Path) -> None:
    """Dynamic int8 quantization, per channel (the most accurate int8 option measured here)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True)


def write_serving_artifact(
    model: ServingModel,
    spec_path: Path,
    card_path: Path,
    tokenizer_path: Path,
    out_dir: Path,
    quantize: bool = True,
) -> Path:
    """Export ``model`` and copy spec, card and tokenizer next to it; returns the ONNX path."""
    spec = FeatureSpec.load(spec_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "model.fp32.onnx"
        logger.info("exporting ONNX graph (fp32)")
        export_onnx(model, spec, fp32)
        if quantize:
            logger.info("quantizing to int8 (per-channel)")
            quantize_int8(fp32, out_dir / ONNX_FILE)
        else:
            shutil.copyfile(fp32, out_dir / ONNX_FILE)
    for source, name in ((spec_path, SPEC_FILE), (card_path, CARD_FILE), (tokenizer_path, TOKENIZER_FILE)):
        if source.resolve() != (out_dir / name).resolve():
            shutil.copyfile(source, out_dir / name)
    return out_dir / ONNX_FILE


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no gradients: the encoder is never trained."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module
