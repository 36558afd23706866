"""The benchmark's workloads: real requests the API accepts, and re-scores that must not run the encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.bench.worker import measure_rescores
from infra.bench.workload import load_requests
from miles_core.api.schemas.predict import PredictRequest
from miles_core.inference import Predictor


def test_every_bench_request_is_one_the_api_accepts(sample_csv: Path) -> None:
    requests = load_requests(sample_csv, with_tags=True)
    assert len(requests) >= 150
    for request in requests:
        PredictRequest.model_validate(request)


def test_rescores_are_timed_without_the_encoder(sample_csv: Path, tiny_artifact: Path) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    requests = load_requests(sample_csv, limit=40)
    result = measure_rescores(predictor, requests, size=10, iterations=3)
    assert result["items_per_s"] > 0
    assert predictor.texts.stats.encoded == len({r["title"] + str(r.get("description")) for r in requests})


def test_a_rescore_that_runs_the_encoder_fails_the_bench(sample_csv: Path, tiny_artifact: Path) -> None:
    predictor = Predictor(tiny_artifact, threads=1, cache_size=0)  # nothing kept: every call encodes
    with pytest.raises(RuntimeError, match="ran the encoder"):
        measure_rescores(predictor, load_requests(sample_csv, limit=20), size=10, iterations=2)
