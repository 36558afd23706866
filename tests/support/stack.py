"""The local stack as the end-to-end tests see it: where it listens, its API key, its start banner."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunningStack:
    url: str
    api_key: str
    banner: str
