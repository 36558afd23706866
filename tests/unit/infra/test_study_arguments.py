"""The studies' shared arguments: the defaults name files the repository holds, and every study uses them."""

from __future__ import annotations

import ast
from pathlib import Path

from infra.studies import arguments
from infra.studies.arguments import (
    BENCHMARK,
    FRESH_UPLOADS,
    TRAINED_MODEL,
    add_serving_model_arguments,
    add_trained_model_arguments,
    study_parser,
)
from miles_core.inference.artifact import SPEC_FILE
from miles_core.training.embeddings import DEFAULT_CACHE_DIR

STUDIES = sorted(p for p in Path(arguments.__file__).parent.glob("*.py") if p.stem not in ("__init__", "arguments"))


def test_the_defaults_are_the_repositorys_benchmark_and_trained_model() -> None:
    assert BENCHMARK.is_file()
    assert (TRAINED_MODEL / SPEC_FILE).is_file()
    assert any(FRESH_UPLOADS.glob("*.jsonl"))
    parser = study_parser("A study.\n\nMore.")
    add_trained_model_arguments(parser)
    assert parser.description == "A study."
    defaults = parser.parse_args([])
    assert (defaults.model, defaults.data, defaults.cache_dir) == (TRAINED_MODEL, BENCHMARK, DEFAULT_CACHE_DIR)
    chosen = parser.parse_args(["--model", "m", "--data", "d.csv", "--cache-dir", "c"])
    assert (chosen.model, chosen.data, chosen.cache_dir) == (Path("m"), Path("d.csv"), Path("c"))
    serving = study_parser(None)
    add_serving_model_arguments(serving)
    assert serving.parse_args([]).model == arguments.SERVING_MODEL


def test_no_study_declares_its_own_model_data_or_cache_argument() -> None:
    assert len(STUDIES) >= 8
    for study in STUDIES:
        tree = ast.parse(study.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
                flags = [a.value for a in node.args if isinstance(a, ast.Constant)]
                assert not {"--model", "--data", "--cache-dir"} & set(flags), f"{study.name} declares {flags}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert "miles_benchmark_dev" not in node.value, f"{study.name} names the benchmark file itself"
