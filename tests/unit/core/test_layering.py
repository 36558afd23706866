"""The library never reaches up: ``miles_core`` imports no handler, test or dev-tooling package.

Handlers (``functions``) and tooling (``infra``: the local stack, the benchmark) depend on the
library, never the other way round; otherwise the library drags them into every image and breaks
outside the repository root. Checked on the source text (lazy imports inside functions count too).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT

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


def test_the_recommendation_flow_does_not_load_onnxruntime_at_import() -> None:
    """The recommender reaches the model through its ``IdeaScorer`` port; only the handler loads the predictor."""
    probe = "import sys, miles_core.recommend.service; print('onnxruntime' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert result.stdout.strip() == "False"


def test_every_module_file_name_is_unique() -> None:
    """A path says its job: two modules called ``scoring.py`` would mean two different things."""
    names = [path.name for path in CORE.rglob("*.py") if path.name != "__init__.py" and path.name != "__main__.py"]
    assert sorted(name for name in set(names) if names.count(name) > 1) == []


def test_no_store_module_grows_past_300_lines() -> None:
    """The store is small repositories behind one facade; a module past this size is doing two jobs."""
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in (CORE / "store").glob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > 300} == {}


def test_no_test_module_imports_another() -> None:
    """Shared test code lives in ``tests/support``; a test (or conftest) importing another couples their fixtures."""
    tests_dir = REPO_ROOT / "tests"
    test_import = re.compile(r"^\s*(?:from|import)\s+tests\.(?!support\b)\S+", re.MULTILINE)
    found = [
        f"{path.relative_to(REPO_ROOT)}: {match.group(0).strip()}"
        for path in sorted(tests_dir.rglob("*.py"))
        for match in test_import.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
