"""Background workers of the local stack (owned by the scrape area).

``start_background_workers`` is called once by the local server after the embedded AWS endpoint
and the table exist. It starts what AWS would run on its own: the SQS job consumer for scrape jobs
and the DynamoDB stream poller that feeds the scorer. Returns a callable that stops them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LocalStackContext:
    """Where the embedded AWS lives and what was created there."""

    endpoint_url: str
    table_name: str
    region: str = "us-east-1"


def start_background_workers(context: LocalStackContext) -> Callable[[], None]:
    """Start local equivalents of AWS-driven triggers; the scrape area implements them."""
    return lambda: None
