"""Every AWS call a handler makes in any test must be one its function's policy allows.

``tests/deploy/test_permissions.py`` proves each policy against the ``events/`` samples; this guard
extends the "allowed" half to every functional test that runs a handler. While a test runs, each botocore
call made with a ``functions/<image>/<module>.py`` frame on the stack is attributed to the template's
function(s) with that handler, and its resources are named logically through that function's own
environment (``MILES_TABLE_NAME: !Ref Table`` maps the table name the test set to ``Table``). At teardown
the calls are checked against the SAM-translated policies; a denied one fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

from tests.support.aws_calls import AwsCall, iam_requests, record_aws_calls
from tests.support.iam import allows, code_grants, logical_request
from tests.support.paths import REPO_ROOT
from tests.support.template import FUNCTIONS_DIR, TEMPLATE, FunctionSpec, functions, load_template

SAM_TRANSLATE = REPO_ROOT / "tests" / "support" / "sam_translate.py"


@cache
def translated_template() -> dict[str, Any]:
    """template.yaml translated to plain CloudFormation by aws-sam-translator (from .venv-sam), offline."""
    python = REPO_ROOT / ".venv-sam" / "bin" / "python"
    assert python.exists(), f"{python} missing: run `make sam-install` (make test depends on it)"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [str(python), str(SAM_TRANSLATE), str(TEMPLATE)],
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


@cache
def _functions() -> dict[str, FunctionSpec]:
    return functions(load_template())


@cache
def _functions_by_handler() -> dict[Path, tuple[str, ...]]:
    found: dict[Path, list[str]] = {}
    for logical_id, spec in _functions().items():
        found.setdefault(spec.handler_file.resolve(), []).append(logical_id)
    return {path: tuple(ids) for path, ids in found.items()}


def _handler_functions() -> tuple[str, ...]:
    """The template functions whose handler file is on the calling stack (innermost first), if any."""
    by_handler = _functions_by_handler()
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(str(FUNCTIONS_DIR)):
            ids = by_handler.get(Path(filename).resolve())
            if ids:
                return ids
        frame = frame.f_back
    return ()


def _physical_to_logical(function: str) -> dict[str, str]:
    """This process's value of each variable the template sets to a resource -> that resource's logical id."""
    mapping = {}
    for variable, value in _functions()[function].environment.items():
        target = None
        if isinstance(value, dict) and "Ref" in value:
            target = value["Ref"]
        elif isinstance(value, dict) and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"][0]
        if target is not None and os.environ.get(variable):
            mapping[os.environ[variable]] = str(target)
    return mapping


@dataclass(frozen=True)
class HandlerCall:
    function: str
    action: str
    resource: str


@contextmanager
def guard_handler_calls(translated: dict[str, Any] | None = None) -> Iterator[list[HandlerCall]]:
    """Record the calls handlers make inside the block; on exit, raise if a policy denies one (``translated``:
    the policies to check against, the template's by default)."""
    seen: list[HandlerCall] = []

    def attribute(call: AwsCall) -> None:
        requests = iam_requests(call)
        candidates = [(function, _physical_to_logical(function)) for function in _handler_functions()]
        # Functions sharing a handler file differ in their environment: one whose environment does not name
        # the called resource (no MILES_TABLE_NAME) could not have addressed it in AWS, so the call is the
        # others'. A call no candidate's environment names stays attributed to all of them.
        naming = [
            (function, mapping)
            for function, mapping in candidates
            if all(logical_request(r, mapping)[1] != logical_request(r, {})[1] for r in requests)
        ]
        for function, mapping in naming or candidates:
            seen.extend(HandlerCall(function, *logical_request(r, mapping)) for r in requests)

    with record_aws_calls(on_call=attribute):
        yield seen
    policies = translated if translated is not None else translated_template()
    denied = sorted(
        {
            f"{call.function}: {call.action} on {call.resource}"
            for call in seen
            if not any(allows(g, call.action, call.resource) for g in code_grants(policies, call.function))
        }
    )
    assert not denied, f"calls the deployed policies would deny (template.yaml Policies): {denied}"
