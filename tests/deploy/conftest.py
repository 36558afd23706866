"""Fixtures for the deployment checks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.contract import REPO_ROOT, TEMPLATE, load_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as data."""
    return load_template()


@pytest.fixture(scope="session")
def translated_template() -> dict[str, Any]:
    """template.yaml translated to plain CloudFormation by aws-sam-translator (from .venv-sam), offline."""
    python = REPO_ROOT / ".venv-sam" / "bin" / "python"
    assert python.exists(), f"{python} missing: run `make sam-install` (make test depends on it)"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [str(python), str(Path(__file__).with_name("sam_translate.py")), str(TEMPLATE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data
