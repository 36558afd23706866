"""The studies' shared inputs: one spelling and one default for each command-line argument and data file.

Each study used to declare ``--model``, ``--data`` and ``--cache-dir`` itself, with the defaults copied (and
spelled differently: relative to the working directory in some, to the repository in others). Two kinds of
model are measured: the trained model directory (``miles train``'s output, network and trees in PyTorch and
scikit-learn form: :func:`add_trained_model_arguments`) and the serving artifact (``make model``, what the
Lambda loads: :func:`add_serving_model_arguments`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from miles_core.training.embeddings import DEFAULT_CACHE_DIR

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "infra" / "data"
BENCHMARK = DATA / "benchmark" / "miles_benchmark_dev.csv.gz"
"""The benchmark shipped in the repository (train and val splits)."""
FRESH_UPLOADS = DATA / "fresh_uploads"
"""Fresh uploads of ordinary channels: a population the model never saw."""
TRAINED_MODEL = REPO / "miles_core" / "artifacts" / "default"
SERVING_MODEL = REPO / "build" / "model"


def study_parser(doc: str | None) -> argparse.ArgumentParser:
    """A study's parser, described by the first line of its module docstring."""
    return argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)


def add_trained_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` (a trained model directory), ``--data`` (a benchmark CSV) and ``--cache-dir`` (embeddings)."""
    parser.add_argument("--model", type=Path, default=TRAINED_MODEL, help="trained model directory (miles train)")
    add_data_argument(parser)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="embedding cache")


def add_serving_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model``: the serving artifact the study scores through (``Predictor``)."""
    parser.add_argument("--model", type=Path, default=SERVING_MODEL, help="serving artifact (make model)")


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """``--data``: the benchmark CSV whose rows the study measures."""
    parser.add_argument("--data", type=Path, default=BENCHMARK, help="benchmark CSV (train and val splits)")
