"""The served artifact gives the same numbers on every x86-64 CPU, with or without AVX-512 VNNI.

Why it can differ at all: onnxruntime's u8 x s8 kernels on AVX2-only CPUs (VPMADDUBSW) add pairs of
products into a saturating int16, while VNNI CPUs accumulate in int32. The export prevents it with
7-bit weights (see ``miles_core.training.onnx_export.quantize_int8``); these tests check the artifact
has that property, and then run it on an emulated AVX2-only CPU (qemu user mode, ``-cpu EPYC-Rome``:
QEMU's TCG has AVX2 but no AVX-512) and compare with this machine's CPU.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from miles_core.dataset import load_benchmark
from miles_core.inference.artifact import ENCODER_DATA_FILE, ENCODER_FILE
from miles_core.training.onnx_export import WEIGHT_RANGE
from tests.support.paths import DEV_CSV, REPO_ROOT

EMULATED_CPU = "EPYC-Rome"
"""An AMD EPYC with AVX2 and FMA but no AVX-512: the CPU kind on which the first int8 model drifted."""
ROWS = 12
TOLERANCE = 1e-5
"""Integer math is identical; what is left is fp32 rounding order in the float ops (observed ~2e-7)."""


WEIGHT_INPUT = {"DequantizeLinear": 0, "QLinearMatMul": 3}
"""Where a quantized weight enters: a QDQ pair (as exported) or a fused QLinearMatMul (as optimized)."""


def _int8_weights(model: onnx.ModelProto) -> list[np.ndarray]:
    initializers = {t.name: t for t in model.graph.initializer}
    weights = []
    for node in model.graph.node:
        index = WEIGHT_INPUT.get(node.op_type)
        if index is not None and node.input[index] in initializers:
            values = numpy_helper.to_array(initializers[node.input[index]])
            if values.dtype == np.int8:
                weights.append(values)
    return weights


def test_quantized_weights_use_seven_bits_and_activations_are_uint8(shipped_artifact: Path) -> None:
    model = onnx.load(str(shipped_artifact / ENCODER_FILE))  # what serving loads: every quantized MatMul is here
    weights = _int8_weights(model)
    layers = json.loads((shipped_artifact / "model_card.json").read_text())["encoder_layers"]
    assert len(weights) >= 6 * layers, f"the encoder's MatMuls ({layers} layers x 6) should be quantized"
    low, high = WEIGHT_RANGE
    assert min(int(w.min()) for w in weights) >= low
    assert max(int(w.max()) for w in weights) <= high
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    activation_zero_points = [  # QLinearMatMul: (a, a_scale, a_zero_point, b, b_scale, b_zero_point, ...)
        initializers[node.input[2]] for node in model.graph.node if node.op_type in ("QuantizeLinear", "QLinearMatMul")
    ]
    assert activation_zero_points
    assert all(z.dtype == np.uint8 for z in activation_zero_points)
    # Worst u8 x s8 pair sum in VPMADDUBSW: must fit a signed int16.
    assert 2 * 255 * max(abs(low), abs(high)) <= np.iinfo(np.int16).max


def _optimized_encoder(command: list[str], artifact: Path, out: Path) -> bytes:
    """Run the export's split step (which optimizes the encoder) on a copy of ``artifact``; the encoder's bytes."""
    shutil.copytree(artifact, out)
    subprocess.run(
        [*command, "-c", f"from pathlib import Path; from miles_core.training.split import split_serving_graphs; "
         f"split_serving_graphs(Path({str(out)!r}))"],
        check=True, cwd=REPO_ROOT, timeout=600, capture_output=True,
    )  # fmt: skip
    return (out / ENCODER_FILE).read_bytes() + (out / ENCODER_DATA_FILE).read_bytes()


def test_the_offline_optimized_encoder_does_not_depend_on_the_cpu(tiny_artifact: Path, tmp_path: Path) -> None:
    """``make model`` optimizes the encoder once; an AVX2-only build machine must write the same graph."""
    qemu = shutil.which("qemu-x86_64")
    assert qemu, "qemu-x86_64 is missing: `make test` installs it (Debian package qemu-user)"
    native = _optimized_encoder([sys.executable], tiny_artifact, tmp_path / "native")
    emulated = _optimized_encoder([qemu, "-cpu", EMULATED_CPU, sys.executable], tiny_artifact, tmp_path / "avx2")
    assert native == (tiny_artifact / ENCODER_FILE).read_bytes() + (tiny_artifact / ENCODER_DATA_FILE).read_bytes()
    assert emulated == native


def _scores(command: list[str], model: Path, observations: Path, out: Path) -> dict[str, np.ndarray]:
    subprocess.run(
        [*command, "-m", "tests.support.isa_scores", str(model), str(observations), str(out)],
        check=True,
        cwd=REPO_ROOT,
        timeout=600,
        capture_output=True,
    )
    with np.load(out) as saved:
        return {name: saved[name] for name in saved.files}


def test_scores_are_the_same_on_an_avx2_only_cpu(shipped_artifact: Path, tmp_path: Path) -> None:
    qemu = shutil.which("qemu-x86_64")
    assert qemu, "qemu-x86_64 is missing: `make test` installs it (Debian package qemu-user)"
    rows = load_benchmark(DEV_CSV, "val").rows[:ROWS]
    observations = [r.observation for r in rows] + [r.observation.as_pre_publish() for r in rows]
    feed = tmp_path / "observations.jsonl"
    feed.write_text("\n".join(o.model_dump_json() for o in observations), encoding="utf-8")

    native = _scores([sys.executable], shipped_artifact, feed, tmp_path / "native.npz")
    emulated = _scores([qemu, "-cpu", EMULATED_CPU, sys.executable], shipped_artifact, feed, tmp_path / "avx2.npz")

    assert emulated["AVX2"], "the emulated CPU must have AVX2"
    assert not emulated["AVX512F"], "the emulated CPU must not have AVX-512"
    assert len(native["logits"]) == 2 * ROWS
    np.testing.assert_allclose(emulated["logits"], native["logits"], atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(emulated["velocity"], native["velocity"], atol=TOLERANCE, rtol=0)
