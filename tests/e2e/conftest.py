"""End-to-end fixtures: the SHIPPED model exported for real, the local stack as a real process."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infra.localstack.process import start_stack_process, stop_stack_process
from tests.support.paths import REPO_ROOT, SHIPPED_MODEL
from tests.support.predict_app import predict_app
from tests.support.stack import RunningStack

__all__ = ["predict_app"]


@pytest.fixture(scope="session")
def shipped_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``miles export`` of the committed model, exactly what ``make model`` builds."""
    out = tmp_path_factory.mktemp("shipped") / "model"
    subprocess.run(
        [sys.executable, "-m", "miles_core.cli", "export", "--model", str(SHIPPED_MODEL), "--out", str(out)],
        check=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def running_stack(shipped_artifact: Path) -> Iterator[RunningStack]:
    """``python -m infra.localstack`` (what ``make run`` starts) on a free loopback port."""
    settings = {
        "MILES_MODEL_DIR": str(shipped_artifact),
        "MILES_API_KEY": "e2e-test-key",
        "PORT": "0",
        "PYTHONUNBUFFERED": "1",
        "MILES_OPENAI_SECRET_ID": None,  # no LLM: the fallback answers
        "OPENAI_API_KEY": None,  # nor the openai convention's key (a developer's shell may set it)
        "OPENAI_BASE_URL": None,
        "AWS_ENDPOINT_URL": None,  # the stack starts its own moto endpoint
    }
    process = start_stack_process(settings, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    banner: list[str] = []
    deadline = time.monotonic() + 900  # the banner follows the seeded catalog's scoring (minutes on a loaded box)
    url = None
    while time.monotonic() < deadline and url is None:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        banner.append(line)
        match = re.search(r"Miles local API on (http://127\.0\.0\.1:\d+)", line)
        if match:
            url = match.group(1)
            for _ in range(8):  # the API key, docs, ideas and catalog lines follow the URL line
                banner.append(process.stdout.readline())
                if banner[-1].startswith("  catalog:"):
                    break
    if url is None:
        process.kill()
        pytest.fail("local stack did not start:\n" + "".join(banner))
    # Keep reading its output: a full pipe would block the stack on its next log line.
    threading.Thread(target=process.stdout.read, name="drain-local-stack", daemon=True).start()
    try:
        yield RunningStack(url=url, api_key="e2e-test-key", banner="".join(banner))
    finally:
        stop_stack_process(process)


@pytest.fixture
def http(running_stack: RunningStack) -> requests.Session:
    session = requests.Session()
    session.headers["x-api-key"] = running_stack.api_key
    return session
