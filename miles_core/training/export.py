"""Export encoder + head + calibration to ONNX, quantize to int8, write a serving artifact.

Deterministic: the same trained head, spec and encoder give byte-identical ``model.onnx``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
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


def example_inputs(spec: FeatureSpec, batch: int = 3, tokens: int = 8) -> tuple[torch.Tensor, ...]:
    """Inputs used only to trace the graph (all axes but the feature widths are dynamic).

    The rows have different lengths, so the attention mask holds padding: traced with an
    all-ones mask, the masking code could take a "no padding" shortcut that the trace would
    freeze into the graph. Tests check padded batches against unpadded rows.
    """
    mask = torch.ones((batch, tokens), dtype=torch.long)
    for row in range(1, batch):
        mask[row, tokens - 2 * row :] = 0
    ids = torch.full((batch, tokens), 1000, dtype=torch.long) * mask
    return (
        ids,
        mask,
        torch.zeros((batch, spec.n_numeric), dtype=torch.float32),
        torch.zeros((batch, spec.ngram_buckets), dtype=torch.float32),
    )


def export_onnx(model: ServingModel, spec: FeatureSpec, path: Path) -> None:
    """Trace ``model`` (in eval mode, so dropout is off) to an fp32 ONNX graph."""
    model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # transformers' masking code compares the mask length with the key length (always equal
        # for an encoder without a cache) and warns that the comparison is traced as a constant;
        # the exporter warns about index ops it lowers. Both are benign here, and
        # tests/model/test_parity.py proves it: padded batches of any size score each row
        # exactly as that row alone, and fp32 ONNX matches torch within 1e-4.
        warnings.filterwarnings("ignore", message="Converting a tensor to a Python boolean")
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
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


def fuse_transformer(fp32_path: Path, fused_path: Path, num_heads: int, hidden_size: int) -> None:
    """onnxruntime's transformer optimizer: fuses attention, LayerNorm, GELU into single kernels.

    Pure graph rewriting in Python (``opt_level=0``: no onnxruntime session-level passes baked in),
    so the result is deterministic and portable across CPUs.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(fp32_path), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, opt_level=0
    )
    logger.info("fused graph: %s", optimized.get_fused_operator_statistics())
    optimized.save_model_to_file(str(fused_path))


def quantize_int8(fp32_path: Path, int8_path: Path, fused: bool = False) -> None:
    """Dynamic int8 quantization, per channel (the most accurate int8 option measured here).

    A fused graph has contrib ops whose input types the quantizer cannot infer; telling it the
    default tensor type is float is what TOOLCHAIN.md measured to work.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    extra_options = {"DefaultTensorType": onnx.TensorProto.FLOAT} if fused else {}
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))  # the quantizer logs one INFO line per tensor on root
    try:
        quantize_dynamic(
            str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True, extra_options=extra_options
        )
    finally:
        root.setLevel(level)


def write_serving_artifact(
    model: ServingModel,
    spec_path: Path,
    card_path: Path,
    tokenizer_path: Path,
    out_dir: Path,
    quantize: bool = True,
    fuse: bool = False,
) -> Path:
    """Export ``model`` and copy spec, card and tokenizer next to it; returns the ONNX path.

    ``fuse`` runs onnxruntime's transformer fusion before quantization. Off by default: measured
    on 2 shared cores (MiniLM, 48 tokens), the fused int8 graph (QAttention) scored a batch of 32
    in ~100 ms against ~85 ms unfused, and one title in ~2.6-2.9 ms against ~3.0 ms; throughput
    at batch 32 is the tighter serving budget, so the plain int8 graph ships.
    """
    spec = FeatureSpec.load(spec_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "model.fp32.onnx"
        logger.info("exporting ONNX graph (fp32)")
        export_onnx(model, spec, fp32)
        if fuse:
            config = getattr(model.encoder, "config")  # noqa: B009 - a transformers PretrainedConfig
            fused = Path(scratch) / "model.fused.onnx"
            logger.info("fusing attention / LayerNorm / GELU")
            fuse_transformer(fp32, fused, int(config.num_attention_heads), int(config.hidden_size))
            fp32 = fused
        if quantize:
            logger.info("quantizing to int8 (per-channel)")
            quantize_int8(fp32, out_dir / ONNX_FILE, fused=fuse)
        else:
            shutil.copyfile(fp32, out_dir / ONNX_FILE)
    for source, name in ((spec_path, SPEC_FILE), (card_path, CARD_FILE), (tokenizer_path, TOKENIZER_FILE)):
        if source.resolve() != (out_dir / name).resolve():
            shutil.copyfile(source, out_dir / name)
    return out_dir / ONNX_FILE


def serving_model(model_dir: Path, encoder: nn.Module | None = None) -> ServingModel:
    """Encoder (frozen) + trained head + calibration from a trained-model directory."""
    from miles_core.training.encoder import load_encoder
    from miles_core.training.model_dir import load_head

    head, bundle = load_head(model_dir)
    spec = FeatureSpec.load(model_dir / SPEC_FILE)
    index, threshold = stats_known_split(spec)
    frozen = freeze(encoder if encoder is not None else load_encoder(bundle.encoder))
    return ServingModel(frozen, head, index, threshold, (bundle.calibration_pre, bundle.calibration_post)).eval()


def export_trained(model_dir: Path, out_dir: Path, quantize: bool = True, fuse: bool = False) -> Path:
    """``miles export``: trained-model directory -> serving artifact directory."""
    model = serving_model(model_dir)
    return write_serving_artifact(
        model, model_dir / SPEC_FILE, model_dir / CARD_FILE, model_dir / TOKENIZER_FILE, out_dir, quantize, fuse
    )


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no gradients: the encoder is never trained."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module
