"""Fixtures for the deployment checks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import permission_guard
from tests.support.template import load_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as data."""
    return load_template()


@pytest.fixture(scope="session")
def translated_template() -> dict[str, Any]:
    """template.yaml translated to plain CloudFormation by aws-sam-translator (from .venv-sam), offline."""
    return permission_guard.translated_template()
