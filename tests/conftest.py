"""Fixtures for every test: offline environment, fake AWS credentials, a tiny real model artifact, moto.

Shared helpers are modules of ``tests/support``; the fixtures defined there are registered here so
every folder can use them (``aws``, ``store``, ``youtube_api``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.moto_table import aws, store
from tests.support.paths import BENCHMARK_DATA
from tests.support.youtube import youtube_api

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MilesTest")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

__all__ = ["aws", "store", "youtube_api"]


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS: fake credentials and a fixed region for every test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture(autouse=True)
def _no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real LLM: a developer's ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` are not inherited."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture(autouse=True)
def _handler_calls_are_allowed_by_their_policy() -> Iterator[None]:
    """Any AWS call a handler makes in any test must be allowed by its function's policy in template.yaml."""
    from tests.support.permission_guard import guard_handler_calls

    with guard_handler_calls():
        yield


@pytest.fixture(scope="session")
def sample_csv() -> Path:
    """The 200-row benchmark sample (real data)."""
    path = BENCHMARK_DATA / "miles_benchmark_sample.csv"
    assert path.exists(), f"missing {path}"
    return path


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real serving artifact (tiny random BERT, real export and quantization), built once."""
    from tests.support.tiny_artifact import build_tiny_artifact

    return build_tiny_artifact(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def tiny_work(tiny_artifact: Path) -> Path:
    """Inputs of the shared tiny artifact: ``encoder/``, ``trained/`` and ``sample_with_val.csv``."""
    from tests.support.tiny_artifact import work_dir

    return work_dir(tiny_artifact)


@pytest.fixture(scope="session")
def tiny_trained(tiny_work: Path) -> Path:
    """The trained-model directory (head, spec, card, tokenizer) the tiny artifact was exported from."""
    return tiny_work / "trained"


@pytest.fixture(scope="session")
def tiny_data(tiny_work: Path) -> Path:
    """The benchmark sample with its latest 50 rows as ``val``."""
    return tiny_work / "sample_with_val.csv"
