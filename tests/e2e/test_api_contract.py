"""schemathesis over the one OpenAPI document against ``make run``'s stack: the API keeps its contract.

Every check on (server errors, undocumented status codes, response schemas, content types, headers,
negative data rejected, valid data accepted, undeclared methods -> 405, auth enforced, ...),
seeded and bounded (cases per operation, a time budget), with the API key. The stack runs with no
LLM (the deterministic fallback answers) and no internet (scrape jobs fail in the worker: the API
still answers 202). Refusals of rules the schema cannot state are dropped explicitly, and only
those: ``tests/support/schemathesis_hooks.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.localstack.workers import STATE_FILE
from tests.support.paths import REPO_ROOT
from tests.support.stack import RunningStack

SEED = 20261202
MAX_EXAMPLES = 60
"""Per operation and phase: ~1,100-1,300 cases in all on this document."""
MAX_CASES = 2000
TIME_BUDGET_SECONDS = 180


@pytest.fixture
def job_queue_emptied_after(running_stack: RunningStack) -> Iterator[None]:
    """The fuzzer sends hundreds of valid scrape jobs (each fails offline in seconds): later tests on the same
    stack must not wait behind them, so their messages are dropped afterwards (their jobs' leases end them)."""
    yield
    state = json.loads((REPO_ROOT / STATE_FILE).read_text(encoding="utf-8"))
    sqs = boto3.client("sqs", endpoint_url=state["endpoint_url"], region_name="us-east-1")
    sqs.purge_queue(QueueUrl=state["queue_url"])


@pytest.mark.slow
@pytest.mark.usefixtures("job_queue_emptied_after")
def test_the_api_keeps_its_openapi_contract(running_stack: RunningStack, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{running_stack.url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"x-api-key: {running_stack.api_key}",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks"}
    started = time.monotonic()
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_BUDGET_SECONDS + 60,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = result.stdout[-20000:] + result.stderr[-5000:]
    summary: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    cases = summary["test_cases"]
    print(f"schemathesis: {cases['generated']} cases, {elapsed:.0f} s, seed {SEED}")
    assert summary["operations"]["tested"] == summary["operations"]["selected"] >= 9, output
    assert summary["failures"] in ([], {}), output
    assert summary["errors"] in ([], {}), output
    assert result.returncode == 0, output
    assert 300 <= cases["generated"] <= MAX_CASES, output
    assert elapsed <= TIME_BUDGET_SECONDS, output
