"""The per-container :class:`MilesStore` every handler shares (created lazily, reused per invocation).

Lazy rather than at import so tests (and ``make run``) can point boto3 at moto before the first
client exists; :func:`reset` drops it between tests, :func:`use` installs one bound to a test table.
"""

from __future__ import annotations

from miles_core.store.facade import MilesStore

_cache: dict[str, MilesStore] = {}


def store() -> MilesStore:
    """The container's store, made from the environment (``MILES_TABLE_NAME``) on first use."""
    if "store" not in _cache:
        _cache["store"] = MilesStore.from_env()
    return _cache["store"]


def use(value: MilesStore) -> None:
    """Replace the container's store (tests, local runs against another table)."""
    _cache["store"] = value


def reset() -> None:
    """Forget the store; the next :func:`store` call makes a new one."""
    _cache.clear()
