"""`sam validate --lint` and cfn-lint must be clean on template.yaml (offline, no credentials)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT
from tests.support.template import TEMPLATE

SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"


def _offline_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1")
    return env


def _cfn_lint() -> list[str]:
    local = Path(sys.executable).parent / "cfn-lint"
    if local.exists():
        return [str(local)]
    found = shutil.which("cfn-lint")
    assert found, "cfn-lint is not installed (it is in the dev extra)"
    return [found]


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [*_cfn_lint(), str(TEMPLATE)], capture_output=True, text=True, env=_offline_env(), timeout=300, check=False
    )
    assert result.returncode == 0, f"cfn-lint exit {result.returncode}:\n{result.stdout}{result.stderr}"


def test_sam_validate_lint_is_clean() -> None:
    assert SAM.exists(), f"{SAM} missing: run `make sam-install` (make test depends on it)"
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template-file", str(TEMPLATE)],
        capture_output=True,
        text=True,
        env=_offline_env(),
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"sam validate --lint exit {result.returncode}:\n{result.stdout}{result.stderr}"


def test_cfn_lint_catches_a_broken_template(tmp_path: Path) -> None:
    """The lint gate can fail: an invalid stream view type is an error."""
    broken = tmp_path / "template.yaml"
    broken.write_text(
        TEMPLATE.read_text(encoding="utf-8").replace(
            "StreamViewType: NEW_AND_OLD_IMAGES", "StreamViewType: NEW_AND_OLD", 1
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [*_cfn_lint(), str(broken)], capture_output=True, text=True, env=_offline_env(), timeout=300, check=False
    )
    assert result.returncode == 2, result.stdout
