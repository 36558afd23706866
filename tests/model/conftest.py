"""Fixtures for the model area: the tiny trained model directory behind the shared tiny artifact."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tiny_artifact import work_dir


@pytest.fixture(scope="session")
def tiny_work(tiny_artifact: Path) -> Path:
    """Inputs of the shared tiny artifact: ``encoder/``, ``trained/`` and ``sample_with_val.csv``."""
    return work_dir(tiny_artifact)


@pytest.fixture(scope="session")
def tiny_trained(tiny_work: Path) -> Path:
    """The trained-model directory (head, spec, card, tokenizer) the tiny artifact was exported from."""
    return tiny_work / "trained"


@pytest.fixture(scope="session")
def tiny_data(tiny_work: Path) -> Path:
    """The benchmark sample with its latest 50 rows as ``val``."""
    return tiny_work / "sample_with_val.csv"
