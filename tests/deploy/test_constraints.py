"""The dev install runs the images' pins: the constraints file is current and .venv honours it."""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.paths import REPO_ROOT


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_miles_dev_constraints", REPO_ROOT / "infra" / "dev_constraints.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_constraints_match_the_layers() -> None:
    generator = _generator()
    committed = generator.CONSTRAINTS.read_text(encoding="utf-8")
    assert committed == generator.render(), "infra/dev-constraints.txt is stale: run `make constraints` and commit it"


def test_generator_drops_extras_and_local_labels_and_refuses_conflicts(tmp_path: Path) -> None:
    generator = _generator()
    (tmp_path / "a.txt").write_text("--extra-index-url https://x\nTorch==2.13.0+cpu\nfoo_bar[x]==1.0 # c\n")
    (tmp_path / "b.txt").write_text("foo-bar==1.0\n")
    assert generator.render(tmp_path).splitlines()[-2:] == ["foo-bar==1.0", "torch==2.13.0"]
    (tmp_path / "c.txt").write_text("foo.bar==2.0\n")
    with pytest.raises(generator.LayerError, match="foo-bar"):
        generator.render(tmp_path)
    (tmp_path / "c.txt").write_text("baz>=1\n")
    with pytest.raises(generator.LayerError, match="not an exact pin"):
        generator.render(tmp_path)


def test_installed_packages_are_the_pinned_versions() -> None:
    """Catches a .venv installed without ``-c`` (``make install`` passes it)."""
    pins = dict(
        line.split("==", 1)
        for line in (REPO_ROOT / "infra" / "dev-constraints.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    drift = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # only in an image (awslambdaric, deno, ...)
        if installed.split("+", 1)[0] != version:
            drift[name] = f"{installed} installed, {version} pinned"
    assert not drift, f"run `make install` (it installs with -c infra/dev-constraints.txt): {drift}"
