"""The local stack as its own process, exactly what ``make run`` starts (the bench and e2e tests use it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def start_stack_process(settings: Mapping[str, str | None], **popen: Any) -> subprocess.Popen[Any]:
    """``python -m infra.localstack`` from the repository root, with ``settings`` over this environment.

    A ``None`` setting removes the variable. ``popen`` goes to :class:`subprocess.Popen` (where its
    output goes); stop the process by its PID.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for name, value in settings.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.Popen([sys.executable, "-m", "infra.localstack"], cwd=REPO_ROOT, env=env, **popen)


def stop_stack_process(process: subprocess.Popen[Any], timeout_s: float = 20.0) -> None:
    """Stop a stack started by :func:`start_stack_process`: SIGTERM (it shuts down cleanly), then SIGKILL."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
