"""moto in-process for tests: the Miles table (with its stream) and the scrape job queue.

``aws`` points the environment (``MILES_TABLE_NAME``, ``MILES_SCRAPE_QUEUE_URL``) at them and resets the
per-container caches around each test; ``store`` is a :class:`MilesStore` on that table. Registered for
every test by ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from miles_core.scraping import runtime
from miles_core.secrets import clear_secret_cache
from miles_core.store import MilesStore
from miles_core.store.dynamo import client_config
from miles_core.store.schema import create_table

TABLE = "miles-test"
NOW = datetime(2026, 8, 21, 12, 0, tzinfo=UTC)
"""The fixed time of the store and scrape tests."""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto in-process: the Miles table (with stream) and the scrape job queue; env pointing at them."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1", config=client_config())  # as in Lambda
        create_table(dynamodb, TABLE)
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="miles-scrape-jobs")["QueueUrl"]
        monkeypatch.setenv("MILES_TABLE_NAME", TABLE)
        monkeypatch.setenv("MILES_SCRAPE_QUEUE_URL", queue_url)
        monkeypatch.delenv("MILES_YOUTUBE_SECRET_ID", raising=False)
        monkeypatch.delenv("MILES_YTDLP_SECRET_ID", raising=False)
        runtime.reset()
        clear_secret_cache()
        yield {"dynamodb": dynamodb, "sqs": sqs, "queue_url": queue_url}
        runtime.reset()
        clear_secret_cache()


@pytest.fixture
def store(aws: dict[str, Any]) -> MilesStore:
    return MilesStore(aws["dynamodb"], TABLE)


def fixed_clock(moment: datetime) -> Any:
    return lambda: moment
