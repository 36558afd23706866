"""Where things are in the repository, for tests (which never read outside it)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCHMARK_DATA = REPO_ROOT / "infra" / "data" / "benchmark"
"""The real benchmark files, in the repository (provenance and licence in its README)."""
DEV_CSV = BENCHMARK_DATA / "miles_benchmark_dev.csv.gz"
"""The data the shipped model was trained and validated on."""
SHIPPED_MODEL = REPO_ROOT / "miles_core" / "artifacts" / "default"
"""The committed trained model (``miles export`` turns it into a serving artifact)."""
