"""``make load`` (``python -m infra.load``): a short run against the real local stack process, and its checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra.load import BATCH_SIZE, IDEAS, Call, Results, _all_ideas, _all_items, report, request_mix
from tests.support.paths import REPO_ROOT


def test_a_short_load_runs_clean_against_the_local_stack(tiny_artifact: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.load",
            "--model-dir",
            str(tiny_artifact),
            "--duration",
            "4",
            "--concurrency",
            "3",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["server_errors"] == 0
    assert summary["lost_items"] == 0
    assert summary["statuses"] == {"200": summary["requests"]}
    assert set(summary["routes"]) == {
        "POST /predict",
        "POST /predict/batch",
        "GET /candidates",
        "POST /recommendations",
    }
    assert summary["req_per_s"] > 0
    assert "req/s" in result.stderr


def test_lost_items_and_server_errors_fail_the_load() -> None:
    assert _all_items({"results": [{}] * BATCH_SIZE}) is None
    assert _all_items({"results": [{}] * (BATCH_SIZE - 1)}) is not None
    assert _all_ideas({"ideas": [{}] * (IDEAS - 1)}) is not None
    results = Results()
    batch = request_mix(4)
    assert batch.route == "POST /predict/batch"
    results.record(batch, 200, 10.0, _all_items({"results": []}))
    results.record(Call("GET /candidates", "GET", "/candidates", None, lambda _: None), 503, 5.0, "unavailable")
    summary = report(results, 1.0)
    assert summary["lost_items"] == 1
    assert summary["server_errors"] == 1
