"""An image's Python environment without Docker: its pinned layers, its task root, its ENV, read off the Dockerfile.

* :func:`image_venv` - a fresh virtualenv holding exactly the image's ``layers/*.txt`` (installed with
  ``--no-deps``, so a dependency missing from the pins is missing here too, then ``pip check``), cached
  under ``build/image-venvs/<image>-<hash of the layer files>`` (left writable so ``rm -rf build`` works;
  the runtime process sees it read-only where the file system can be remounted, see ``read_only_argv``).
* :func:`task_root` - what the runtime stage's ``COPY ... ${LAMBDA_TASK_ROOT}/...`` lines put there (the
  handler files flat, the library packages the Dockerfile names), made read-only.
* :func:`image_environment` - the Dockerfile's ``ENV``, with ``/tmp`` and ``/var/task`` mapped to the
  stand-ins, so ``HOME``, caches and ``PYTHONPATH`` are what the image sets.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.dockerfile import Dockerfile
from tests.support.paths import REPO_ROOT

VENV_CACHE = REPO_ROOT / "build" / "image-venvs"
TASK_ROOT_VARS = ("${LAMBDA_TASK_ROOT}", "$LAMBDA_TASK_ROOT", "/var/task")
_IGNORED = ("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache")
"""``.dockerignore``'s exclusions inside the allowed folders."""


def set_read_only(path: Path) -> None:
    """``chmod -R a-w``: the image's files are not writable (for root, see ``read_only_argv``)."""
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            target = Path(root) / name
            if not target.is_symlink():
                target.chmod(target.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def image_venv(image: str, layers: list[Path], cache: Path = VENV_CACHE) -> Path:
    """A virtualenv with exactly ``layers`` installed (no dependency resolution), built once per layer content."""
    digest = hashlib.sha256()
    for path in layers:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(sys.version.encode())
    venv = cache / f"{image}-{digest.hexdigest()[:16]}"
    if (venv / ".complete").exists():
        return venv
    for stale in cache.glob(f"{image}-*"):
        shutil.rmtree(stale)
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    requirements = [arg for path in layers for arg in ("-r", str(path))]
    installed = _pip("--python", python, "install", "--no-deps", "--no-compile", *requirements)
    if installed.returncode != 0:
        shutil.rmtree(venv)
        raise AssertionError(f"pip install --no-deps of {[p.name for p in layers]} failed:\n{installed.stderr}")
    checked = _pip("--python", python, "check")
    if checked.returncode != 0:
        shutil.rmtree(venv)
        raise AssertionError(f"{[p.name for p in layers]} is not a complete closure (pip check):\n{checked.stdout}")
    (venv / ".complete").write_text("\n".join(p.name for p in layers) + "\n", encoding="utf-8")
    return venv


def _copy(source: Path, destination: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*_IGNORED))
    elif not any(fnmatch.fnmatch(source.name, pattern) for pattern in _IGNORED):
        destination.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination / source.name)


def task_root(dockerfile: Dockerfile, destination: Path, context: Path = REPO_ROOT) -> Path:
    """Copy into ``destination`` what the final stage's ``COPY`` lines (not ``--from``) put under the task root."""
    destination.mkdir(parents=True, exist_ok=True)
    for stage in dockerfile.lineage(dockerfile.final):
        for key, argument in stage.instructions:
            words = shlex.split(argument)
            if key != "COPY" or any(word.startswith("--from") for word in words):
                continue
            *sources, target = words
            prefix = next((var for var in TASK_ROOT_VARS if target.startswith(var)), None)
            if prefix is None:
                continue
            where = destination / target.removeprefix(prefix).strip("/")
            for pattern in sources:
                matches = sorted(context.glob(pattern.rstrip("/")))
                assert matches, f"{dockerfile.path}: COPY {pattern} matches nothing"
                for source in matches:
                    _copy(source, where)
    set_read_only(destination)
    return destination


def image_environment(dockerfile: Dockerfile, tmp: Path, task: Path) -> dict[str, str]:
    """The ``ENV`` the final stage inherits, with ``/tmp`` and ``/var/task`` replaced by the stand-ins."""
    env: dict[str, str] = {}
    for stage in dockerfile.lineage(dockerfile.final):
        for key, argument in stage.instructions:
            if key != "ENV":
                continue
            for pair in shlex.split(argument):
                name, _, value = pair.partition("=")
                value = value.replace("/var/task", str(task))
                env[name] = str(tmp) + value[len("/tmp") :] if value == "/tmp" or value.startswith("/tmp/") else value
    return env
