"""``python -m infra.bench.graphs_ab BEFORE_DIR AFTER_DIR``: paired single-title latency of two artifacts' graphs.

``make bench`` runs minutes apart are too noisy on a shared machine to see a few percent. This
runs both artifacts' ``encoder.onnx`` + ``head.onnx`` sessions (encoder at the bench's two threads,
head at one, as the Predictor) on the same 18-token title in alternating rounds, so a load change
hits both alike, and prints each side's median and the paired difference. It reads only the graphs,
so it also compares artifacts exported by different code versions (e.g. with and without the
text-neighbour prior output).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from miles_core.inference.artifact import EMBEDDING, ENCODER_FILE, HEAD_FILE
from miles_core.inference.predictor import session_options

TITLE_TOKENS = 18
CALLS_PER_ROUND = 150


def _session(path: Path, threads: int) -> ort.InferenceSession:
    """A session configured exactly as the Predictor configures its own."""
    return ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])


def single_title_call(model_dir: Path) -> Callable[[], object]:
    """One title through the artifact's encoder and head graphs, whatever text outputs the encoder has."""
    encoder, head = _session(model_dir / ENCODER_FILE, 2), _session(model_dir / HEAD_FILE, 1)
    text_outputs = [output.name for output in encoder.get_outputs()]
    widths = {i.name: i.shape[1] for i in head.get_inputs() if i.name in ("numeric", "lexical")}
    ids = np.array([[101, *range(2000, 2000 + TITLE_TOKENS - 2), 102]], dtype=np.int64)
    tokens = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    tabular = {name: np.zeros((1, width), dtype=np.float32) for name, width in widths.items()}

    def call() -> object:
        text = dict(zip(text_outputs, encoder.run(text_outputs, tokens), strict=True))
        return head.run(None, {**text, **tabular})

    assert EMBEDDING in text_outputs
    return call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    calls = {"before": single_title_call(args.before), "after": single_title_call(args.after)}
    medians: dict[str, list[float]] = {name: [] for name in calls}
    for round_index in range(args.rounds):
        order = list(calls) if round_index % 2 else list(reversed(calls))
        for name in order:
            calls[name]()
            times = []
            for _ in range(CALLS_PER_ROUND):
                started = time.perf_counter()
                calls[name]()
                times.append(time.perf_counter() - started)
            medians[name].append(float(np.median(times)) * 1e3)
    for name, values in medians.items():
        print(f"{name}: {args.__dict__[name]}: median of {args.rounds} round medians {np.median(values):.3f} ms")
    paired = np.array(medians["after"]) - np.array(medians["before"])
    print(f"after - before, paired by round: median {np.median(paired):+.3f} ms, mean {paired.mean():+.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
