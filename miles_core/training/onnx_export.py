"""Export encoder + head + calibration to ONNX, quantize to int8, write a serving artifact.

Deterministic: the same trained head, spec and encoder give byte-identical ``model.onnx``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from miles_core.coverage.population import POPULATION_FILE
from miles_core.features import FeatureSpec, build_model_inputs, load_tokenizer
from miles_core.inference.artifact import (
    CARD_FILE,
    ONNX_FILE,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    SCORE_REFERENCE_FILE,
    SPEC_FILE,
    TOKENIZER_FILE,
)
from miles_core.observation import Observation
from miles_core.training.model_dir import CALIBRATION_FILE, QUANTIZATION_RANGES_FILE, load_calibration_observations
from miles_core.training.neighbours import NEIGHBOURS_FILE, TextNeighbours
from miles_core.training.network import ServingModel
from miles_core.training.split import split_serving_graphs
from miles_core.training.trees import TREE_OUTPUT, TREE_TARGETS, TREES_FILE, TreeEnsemble, graft

logger = logging.getLogger(__name__)
OPSET = 17
EXPORT_INPUTS = (*ONNX_INPUTS, TREE_OUTPUT)
"""The traced graph also takes the tree scores; the artifact computes them in-graph (see ``graft``)."""


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
        torch.zeros((batch, len(TREE_TARGETS)), dtype=torch.float32),
    )


def export_onnx(model: ServingModel, spec: FeatureSpec, path: Path) -> None:
    """Trace ``model`` (in eval mode, so dropout is off) to an fp32 ONNX graph."""
    model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # transformers' masking code compares the mask length with the key length (always equal
        # for an encoder without a cache) and warns that the comparison is traced as a constant;
        # the exporter warns about index ops it lowers. Both are benign here, and
        # tests/unit/training/test_parity.py proves it: padded batches of any size score each row
        # exactly as that row alone, and fp32 ONNX matches torch within 1e-4.
        warnings.filterwarnings("ignore", message="Converting a tensor to a Python boolean")
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            model,
            example_inputs(spec),
            str(path),
            input_names=list(EXPORT_INPUTS),
            output_names=list(ONNX_OUTPUTS),
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "numeric": {0: "batch"},
                "lexical": {0: "batch"},
                TREE_OUTPUT: {0: "batch"},
                "viral_logit": {0: "batch"},
                "log_velocity": {0: "batch"},
                "breakout_logit": {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


CALIBRATION_BATCH = 32
QUANTIZED_OPS = ("MatMul", "Gemm")
ENCODER_SCOPE = "/encoder/"
"""Only the encoder is quantized: it is ~all of the compute, while the small fusion head reads
standardised features whose uint8 activation grid (~0.08 per unit) would blur them."""


def calibration_feeds(
    observations: Sequence[Observation], spec: FeatureSpec, tokenizer_path: Path
) -> list[dict[str, np.ndarray]]:
    """Model inputs for the quantizer's activation ranges, built by THE feature pipeline.

    Only the encoder is quantized and the tree scores never reach it, so they are fed as zeros.
    """
    tokenizer = load_tokenizer(tokenizer_path, spec.max_tokens)
    feeds = []
    for start in range(0, len(observations), CALIBRATION_BATCH):
        batch = build_model_inputs(observations[start : start + CALIBRATION_BATCH], spec, tokenizer).as_feeds()
        batch[TREE_OUTPUT] = np.zeros((len(batch["numeric"]), len(TREE_TARGETS)), dtype=np.float32)
        feeds.append(batch)
    return feeds


class _FeedReader:
    """onnxruntime's CalibrationDataReader protocol over a list of feeds."""

    def __init__(self, feeds: Sequence[dict[str, np.ndarray]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


WEIGHT_RANGE = (-64, 64)
"""Weights are quantized to 7 bits (onnxruntime ``reduce_range``): see :func:`quantize_int8`."""


def quantize_int8(fp32_path: Path, int8_path: Path, ranges_path: Path) -> None:
    """Static int8 quantization (QDQ) whose integer math is exact on every x86-64 CPU.

    - **7-bit weights** (per channel, symmetric, in ``WEIGHT_RANGE``) times uint8 activations: on
      CPUs without AVX-512 VNNI, onnxruntime's u8s8 kernels multiply with VPMADDUBSW, which adds two
      u8 x s8 products into a *saturating* int16. With full-range int8 weights a pair reaches
      2 x 255 x 127 = 64,770 and clips, so the same artifact scored videos differently on AVX2-only
      hosts than on VNNI hosts (which accumulate in int32). With 7-bit weights a pair is at most
      2 x 255 x 64 = 32,640 < 32,767: nothing can saturate, every kernel computes the same integers.
      Activation x activation products (attention) are u8 x u8, which onnxruntime widens to int16
      and accumulates in int32 on every ISA.
    - **Committed activation ranges** (``ranges_path``, onnxruntime's calibration-cache JSON): the
      ranges are measured once by ``miles train`` and committed with the model, so an export on any
      build machine (whose fp32 kernels round differently) produces the same scales.
    - **Static, not dynamic**: dynamic quantization picks each activation scale from the whole batch
      tensor, so a video's score moved by up to 0.07 in probability depending on its batch
      neighbours; fixed ranges make every row independent.
    """
    if not ranges_path.is_file():
        raise FileNotFoundError(
            f"{ranges_path} is missing: the int8 activation ranges are part of the trained model "
            "(`miles train` writes them; `miles calibrate --model DIR` rebuilds them for an existing directory)"
        )
    _quantize(fp32_path, int8_path, ranges_path, reader=None)


def measure_quantization_ranges(fp32_path: Path, ranges_path: Path, feeds: Sequence[dict[str, np.ndarray]]) -> None:
    """Measure the activation ranges (MinMax over ``feeds``) and write them to ``ranges_path``.

    Done once, at training time, on the training machine; the result is committed (see
    :func:`quantize_int8`). onnxruntime writes its calibration cache as a side effect of one
    quantization run, whose model output is thrown away.
    """
    ranges_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        _quantize(fp32_path, Path(scratch) / "discarded.onnx", ranges_path, reader=_FeedReader(feeds))
    if not ranges_path.is_file():
        raise RuntimeError(f"onnxruntime did not write the calibration cache {ranges_path}")


def _quantize(fp32_path: Path, int8_path: Path, ranges_path: Path, reader: _FeedReader | None) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    graph = onnx.load(str(fp32_path)).graph
    head_nodes = [n.name for n in graph.node if n.op_type in QUANTIZED_OPS and not n.name.startswith(ENCODER_SCOPE)]
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))  # the quantizer logs one INFO line per tensor on root
    try:
        quantize_static(
            str(fp32_path),
            str(int8_path),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=list(QUANTIZED_OPS),
            nodes_to_exclude=head_nodes,
            calibrate_method=CalibrationMethod.MinMax,
            calibration_cache_path=str(ranges_path),
        )
    finally:
        root.setLevel(level)


def write_serving_artifact(
    model: ServingModel,
    model_dir: Path,
    out_dir: Path,
    quantize: bool = True,
) -> Path:
    """Export ``model``, graft the boosted trees in, copy spec, card, tokenizer, score reference and population.

    Quantization uses ``model_dir``'s committed activation ranges (written by training). The tree
    node is added after quantization: the quantizer only ever sees the network (it quantizes the
    encoder's MatMuls and nothing else), and the trees stay exact float32 comparisons.
    """
    import onnx

    spec = FeatureSpec.load(model_dir / SPEC_FILE)
    trees = TreeEnsemble.load(model_dir / TREES_FILE)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "model.fp32.onnx"
        network = Path(scratch) / "network.onnx"
        logger.info("exporting ONNX graph (fp32)")
        export_onnx(model, spec, fp32)
        if quantize:
            logger.info("quantizing to int8 (static, 7-bit weights, ranges from %s)", QUANTIZATION_RANGES_FILE)
            quantize_int8(fp32, network, model_dir / QUANTIZATION_RANGES_FILE)
        else:
            shutil.copyfile(fp32, network)
        logger.info("adding the boosted trees (%d trees) to the graph", trees.n_trees)
        merged = graft(onnx.load(str(network)), trees)
        onnx.save(merged, str(out_dir / ONNX_FILE))
    for name in (SPEC_FILE, CARD_FILE, TOKENIZER_FILE, SCORE_REFERENCE_FILE, POPULATION_FILE):
        if (model_dir / name).resolve() != (out_dir / name).resolve():
            shutil.copyfile(model_dir / name, out_dir / name)
    split_serving_graphs(out_dir)  # encoder.onnx + head.onnx, what serving loads (miles_core/training/split.py)
    return out_dir / ONNX_FILE


def write_quantization_ranges(model_dir: Path, encoder: nn.Module | None = None) -> Path:
    """Measure the int8 activation ranges of ``model_dir``'s model on its calibration observations.

    ``miles train`` calls this once; ``miles calibrate`` re-runs it for an existing directory. The
    written file is committed with the model, so exports never depend on the build machine.
    """
    spec = FeatureSpec.load(model_dir / SPEC_FILE)
    observations = load_calibration_observations(model_dir / CALIBRATION_FILE)
    ranges_path = model_dir / QUANTIZATION_RANGES_FILE
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "model.fp32.onnx"
        export_onnx(serving_model(model_dir, encoder), spec, fp32)
        logger.info("measuring int8 activation ranges on %d calibration observations", len(observations))
        feeds = calibration_feeds(observations, spec, model_dir / TOKENIZER_FILE)
        measure_quantization_ranges(fp32, ranges_path, feeds)
    return ranges_path


def serving_model(model_dir: Path, encoder: nn.Module | None = None) -> ServingModel:
    """Encoder (frozen, cut to the trained depth) + head + text neighbours + stacking from a trained-model directory.

    The cut applies to a passed ``encoder`` too, so the graph holds only the layers the head was
    trained on, whoever loaded the encoder.
    """
    from miles_core.training.encoder import load_encoder, truncate_encoder
    from miles_core.training.model_dir import load_head

    head, bundle = load_head(model_dir)
    spec = FeatureSpec.load(model_dir / SPEC_FILE)
    index, threshold = stats_known_split(spec)
    full = encoder if encoder is not None else load_encoder(bundle.encoder)
    frozen = freeze(truncate_encoder(full, bundle.encoder_layers))
    neighbours = TextNeighbours.load(model_dir / NEIGHBOURS_FILE)
    return ServingModel(frozen, head, index, threshold, bundle.stacking, neighbours).eval()


def export_trained(model_dir: Path, out_dir: Path, quantize: bool = True) -> Path:
    """``miles export``: trained-model directory -> serving artifact directory."""
    return write_serving_artifact(serving_model(model_dir), model_dir, out_dir, quantize)


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no gradients: the encoder is never trained."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module
