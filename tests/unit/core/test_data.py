"""The real data lives in the repository, small, documented, and is the data the shipped model was trained on."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.support.paths import BENCHMARK_DATA, REPO_ROOT

DATA_DIRS = [BENCHMARK_DATA, REPO_ROOT / "tests" / "fixtures" / "youtube_data_api"]
MAX_FILE_BYTES = 5 * 1024 * 1024
# Reads of the old data location beside the repository (a clone has no such sibling folder).
OUTSIDE = re.compile(r"""parents?\b[^\n]*/ *["']shared["']|[^`]\.\./shared""")


@pytest.mark.parametrize("folder", DATA_DIRS, ids=lambda p: p.name)
def test_data_folder_is_small_and_says_where_it_comes_from(folder: Path) -> None:
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "Provenance and licence" in readme
    assert "MIT" in readme
    assert "YouTube API Services Terms of Service" in readme
    files = [p for p in folder.iterdir() if p.is_file()]
    assert len(files) > 1
    for path in files:
        assert path.stat().st_size <= MAX_FILE_BYTES, f"{path.name} is over 5 MB"


def test_dev_csv_is_the_file_the_shipped_model_was_trained_on() -> None:
    card = json.loads(
        (REPO_ROOT / "miles_core" / "artifacts" / "default" / "model_card.json").read_text(encoding="utf-8")
    )
    path = BENCHMARK_DATA / card["training_data"]["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == card["training_data"]["sha256"]


def test_nothing_reads_data_from_outside_the_repository() -> None:
    candidates = [REPO_ROOT / "Makefile", *sorted((REPO_ROOT / "infra").rglob("*.mk"))]
    for folder in ("miles_core", "functions", "infra", "tests"):
        candidates += sorted((REPO_ROOT / folder).rglob("*.py"))
    found = [
        str(path.relative_to(REPO_ROOT)) for path in candidates if OUTSIDE.search(path.read_text(encoding="utf-8"))
    ]
    assert not found, f"read the repository copies (infra/data/benchmark, tests/fixtures): {found}"
