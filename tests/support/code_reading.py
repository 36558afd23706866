"""The code side, read statically: handler references, ``MILES_*`` env reads, what a handler can import.

Everything here reads source text and its AST (``miles_core`` and ``functions``); nothing is executed
except :func:`import_handler`, which imports one handler file the way Lambda does.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support.paths import REPO_ROOT

CORE_DIR = REPO_ROOT / "miles_core"
FUNCTIONS_DIR = REPO_ROOT / "functions"
ENV_HELPERS = frozenset({"env_str", "env_int", "env_float", "env_list", "env_required"})
ENV_PREFIX = "MILES_"


class HandlerError(AssertionError):
    """A handler reference does not resolve to a callable."""


def static_handler_check(handler_file: Path, name: str) -> None:
    """Raise unless ``handler_file`` defines (or assigns) a top-level ``name``; no import needed."""
    if not handler_file.is_file():
        raise HandlerError(f"{handler_file} does not exist")
    tree = ast.parse(handler_file.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return
    raise HandlerError(f"{handler_file} defines no top-level {name!r}")


def import_handler(handler_file: Path, name: str, module_name: str | None = None) -> Callable[..., Any]:
    """Import ``handler_file`` as a fresh module (as Lambda does from the task root) and return ``name``."""
    if not handler_file.is_file():
        raise HandlerError(f"{handler_file} does not exist")
    module_name = module_name or f"_miles_handler_{handler_file.parent.name}_{handler_file.stem}"
    spec = importlib.util.spec_from_file_location(module_name, handler_file)
    assert spec is not None
    assert spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(module_name, None)
        raise
    target = getattr(module, name, None)
    if not callable(target):
        raise HandlerError(f"{handler_file}: {name!r} is missing or not callable")
    return target  # type: ignore[no-any-return]


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def env_reads(path: Path) -> set[str]:
    """``MILES_*`` names read in ``path`` through the ``miles_core.config`` helpers (literal first argument)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in ENV_HELPERS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith(ENV_PREFIX):
                names.add(first.value)
    return names


def all_env_reads(roots: Iterable[Path] = (CORE_DIR, FUNCTIONS_DIR)) -> dict[str, set[Path]]:
    """Every ``MILES_*`` read anywhere in the code, with the files that read it."""
    found: dict[str, set[Path]] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            for name in env_reads(path):
                found.setdefault(name, set()).add(path)
    return found


def _module_file(dotted: str) -> Path | None:
    parts = dotted.split(".")
    if parts[0] != "miles_core":
        return None
    base = REPO_ROOT.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _package_of(path: Path) -> str:
    relative = path.relative_to(REPO_ROOT).with_suffix("")
    return ".".join(relative.parts[:-1])  # a module's package; for __init__ the package itself


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    package = _package_of(path) if path.is_relative_to(CORE_DIR) else ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            modules.add(base)
            modules.update(f"{base}.{alias.name}" for alias in node.names)
    return modules


def reachable_files(entry: Path) -> set[Path]:
    """``entry`` and every ``miles_core`` file it can import (directly, lazily or through packages)."""
    seen: set[Path] = set()
    pending = [entry]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for dotted in _imported_modules(path):
            parts = dotted.split(".")
            for depth in range(1, len(parts) + 1):  # parent packages run their __init__ too
                found = _module_file(".".join(parts[:depth]))
                if found is not None and found not in seen:
                    pending.append(found)
    return seen
