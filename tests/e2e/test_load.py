"""``make load`` (``python -m infra.load``): a short run against the real local stack process, and its checks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from infra.load import (
    API_KEY,
    BATCH_SIZE,
    IDEAS,
    Call,
    Results,
    _all_ideas,
    _all_items,
    _wait_catalog_ready,
    report,
    request_mix,
)
from infra.localstack.catalog import CatalogState
from infra.localstack.handlers import HandlerRef
from infra.localstack.routes import Route
from infra.localstack.server import LocalApiServer
from tests.support.paths import REPO_ROOT

HEALTH_PROBE = """
import json

def handler(event, context):
    body = {"status": "ok", "model_version": "probe", "cold_start": False}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
"""


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


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[LocalApiServer]:
    """The local stack's real gateway, whose ``GET /health`` carries its catalog state, over a probe handler."""
    (tmp_path / "predict").mkdir()
    (tmp_path / "predict" / "load_health_probe.py").write_text(HEALTH_PROBE)
    probe = HandlerRef("predict", "load_health_probe.handler", tmp_path)
    health = Route("GET", "/health", probe, api_key_required=False)
    server = LocalApiServer(("127.0.0.1", 0), API_KEY, (health,))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def stack_process() -> Iterator[subprocess.Popen[Any]]:
    """A live process in the stack process's place (the wait gives up when the stack exits)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def test_the_load_waits_on_the_catalog_state_health_reports(
    gateway: LocalApiServer, stack_process: subprocess.Popen[Any]
) -> None:
    port = urlsplit(gateway.url).port
    assert port is not None
    gateway.catalog.videos, gateway.catalog.scored = 46, 12
    gateway.catalog.state = CatalogState.SCORING
    with pytest.raises(RuntimeError, match=r"not ready after 1 s \(scoring, 12 of 46 scored\)"):
        _wait_catalog_ready(port, stack_process, timeout_s=1.0)
    gateway.catalog.settle(CatalogState.PARTIAL, "40 of 46 seeded videos scored in time")
    _wait_catalog_ready(port, stack_process, timeout_s=5.0)  # partial serves ideas
    gateway.catalog.settle(CatalogState.OFF)
    _wait_catalog_ready(port, stack_process, timeout_s=5.0)


def test_a_failed_catalog_fails_the_load_at_once_with_its_error(
    gateway: LocalApiServer, stack_process: subprocess.Popen[Any]
) -> None:
    port = urlsplit(gateway.url).port
    assert port is not None
    gateway.catalog.settle(CatalogState.FAILED, "seeding failed: OSError: disk full")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="local catalog failed: seeding failed: OSError: disk full"):
        _wait_catalog_ready(port, stack_process, timeout_s=60.0)
    assert time.monotonic() - started < 10
    stack_process.kill()
    stack_process.wait()
    with pytest.raises(RuntimeError, match="local stack exited"):
        _wait_catalog_ready(port, stack_process, timeout_s=60.0)
