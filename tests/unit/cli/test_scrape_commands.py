"""``miles scrape`` runs the scheduled scrape from anywhere; ``infra.localstack attach`` aims it at ``make run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.localstack.moto import MotoServer
from miles_core.store import MilesStore
from miles_core.store.schema import create_table
from tests.support.paths import REPO_ROOT

TABLE = "miles-cli"


def _dynamodb(moto: MotoServer) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=moto.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer.start()
    try:
        create_table(_dynamodb(server), TABLE)
        yield server
    finally:
        server.stop()


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MILES_SCRAPE_SOURCES": "none",  # offline: no source, so every job fails visibly
        "PYTHONPATH": str(REPO_ROOT),
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _recorded_topics(moto: MotoServer) -> set[str]:
    client = _dynamodb(moto)
    store = MilesStore(client, TABLE)
    items: list[dict[str, Any]] = client.scan(TableName=TABLE)["Items"]
    job_ids = [item["job_id"]["S"] for item in items if item["kind"]["S"] == "scrape_job"]
    return {job.request.topic for job in map(store.get_job, job_ids) if job is not None}


def test_miles_scrape_works_outside_the_repository(moto: MotoServer, tmp_path: Path) -> None:
    args = ["-m", "miles_core.cli", "scrape", "--endpoint-url", moto.endpoint_url, "--table", TABLE]
    result = _run([*args, "--niches", "Street Food, cats"], cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # no source: the jobs failed, and the exit code says so
    summary = json.loads(result.stdout)
    assert [job["status"] for job in summary["jobs"]] == ["failed"] * 4  # two niches, top and fresh each
    assert "no source configured" in summary["jobs"][0]["errors"][0]
    assert {"street food", "cats"} <= _recorded_topics(moto)


def test_attach_points_a_miles_command_at_the_running_stack(moto: MotoServer, tmp_path: Path) -> None:
    (tmp_path / ".local").mkdir()
    state = {"endpoint_url": moto.endpoint_url, "table_name": TABLE, "queue_url": "unused"}
    (tmp_path / ".local" / "stack.json").write_text(json.dumps(state), encoding="utf-8")
    result = _run(["-m", "infra.localstack", "attach", "scrape", "--niches", "attached niche"], cwd=tmp_path)
    assert json.loads(result.stdout)["jobs"][0]["status"] == "failed", result.stderr
    assert "attached niche" in _recorded_topics(moto)


def test_attach_without_a_running_stack_says_so(tmp_path: Path) -> None:
    result = _run(["-m", "infra.localstack", "attach", "scrape"], cwd=tmp_path)
    assert result.returncode != 0
    assert "make run" in result.stderr
