"""The library never reaches up: ``miles_core`` imports no handler, test or dev-tooling package.

Handlers (``functions``) and tooling (``infra``: the local stack, the benchmark) depend on the
library, never the other way round; otherwise the library drags them into every image and breaks
outside the repository root. Checked on the source text (lazy imports inside functions count too).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO_ROOT

CORE = REPO_ROOT / "miles_core"
FORBIDDEN = ("functions", "tests", "infra")
IMPORT = re.compile(rf"^\s*(?:from|import)\s+({'|'.join(FORBIDDEN)})\b", re.MULTILINE)


def forbidden_imports(root: Path) -> list[str]:
    """``file:line: statement`` for every import of a forbidden top-level package under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in IMPORT.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(REPO_ROOT)}:{line}: {match.group(0).strip()}")
    return found


def test_miles_core_imports_no_functions_tests_or_infra() -> None:
    assert forbidden_imports(CORE) == []


def test_the_check_finds_a_lazy_import(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def run():\n    from functions.scrape import worker\n    import infra.bench\n", encoding="utf-8")
    found = IMPORT.findall(module.read_text(encoding="utf-8"))
    assert found == ["functions", "infra"]


def test_no_dev_tooling_is_left_inside_the_library() -> None:
    for moved in ("localstack", "bench"):  # now infra/localstack and infra/bench
        assert not list((CORE / moved).rglob("*.py")), moved
