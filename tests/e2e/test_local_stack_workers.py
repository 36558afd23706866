"""``start_background_workers`` against a real moto server: SQS job -> worker -> stream poller -> scorer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from infra.localstack.moto import MotoServer
from infra.localstack.workers import STATE_FILE, LocalStackContext, start_background_workers
from miles_core.scraping import runtime
from miles_core.store import shared
from miles_core.store.schema import create_table
from miles_core.topics import normalize_topic
from tests.support.youtube import ytdlp_source


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_local_workers_run_jobs_and_score_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_artifact: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    moto = MotoServer.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
        monkeypatch.setenv("MILES_TABLE_NAME", "miles-local")
        monkeypatch.setenv("MILES_MODEL_DIR", str(tiny_artifact))
        create_table(boto3.client("dynamodb", region_name="us-east-1"), "miles-local")
        runtime.reset()
        from functions.predict import scorer

        scorer._state.clear()
        runtime.set_sources([ytdlp_source("street food", 3)])
        stop = start_background_workers(LocalStackContext(moto.endpoint_url, "miles-local"))
        try:
            state = json.loads(STATE_FILE.read_text(encoding="utf-8"))
            assert state["endpoint_url"] == moto.endpoint_url
            boto3.client("sqs", region_name="us-east-1").send_message(
                QueueUrl=state["queue_url"], MessageBody=json.dumps({"job_id": "local-1", "topic": "street food"})
            )
            store = shared.store()

            def all_scored() -> bool:
                page = store.list_candidates(normalize_topic("street food"), limit=10, min_probability=0.0)
                return len(page.items) == 3

            assert wait_for(all_scored)
            job = store.get_job("local-1")
            assert job is not None
            assert job.status.value == "succeeded"
        finally:
            stop()
        assert not STATE_FILE.exists()
    finally:
        moto.stop()
        runtime.reset()
