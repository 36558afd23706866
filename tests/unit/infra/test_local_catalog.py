"""The local catalog's state: what make run's gate and GET /health read while the seed runs."""

from __future__ import annotations

from typing import Any

import pytest

from infra.localstack import catalog
from infra.localstack.catalog import CatalogState
from miles_core.store import MilesStore


def test_a_failed_seed_settles_the_catalog_failed_and_still_starts_the_workers(
    store: MilesStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    status = catalog.CatalogStatus()

    def broken(*_: Any, **__: Any) -> Any:
        raise OSError("benchmark unreadable")

    def start_workers() -> Any:
        started.append("workers")
        return lambda: None

    monkeypatch.setattr(catalog, "seed_catalog", broken)
    stop = catalog.start_seeding(store, then=start_workers, status=status)
    assert status.settled.wait(30)
    stop()
    assert status.state is CatalogState.FAILED
    assert status.error == "seeding failed: OSError: benchmark unreadable"
    assert not status.serves_ideas
    assert started == ["workers"]  # scrape jobs still run: only recommendations wait
