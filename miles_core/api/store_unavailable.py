"""503 for a table that keeps throttling: the one answer of every API that reads the store.

DynamoDB still throttling after botocore's retries raises :class:`StoreThrottledError`; the client can
only retry later, so it is a documented 503 in the one error shape, not a 500 (which the fuzz tests
keep for real bugs). A module of its own so an API that never reads the table does not import the
store.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver

from miles_core.api.errors import error_response
from miles_core.store import StoreThrottledError

MESSAGE = "the table is throttling requests; try again later"


def register_store_unavailable(app: APIGatewayRestResolver, logger: Any | None = None) -> None:
    """Answer :class:`StoreThrottledError` on ``app`` with 503 (logged as a warning: nothing was lost)."""

    def _table_throttled(error: StoreThrottledError) -> Response[str]:
        if logger is not None:
            logger.warning("table throttled: %s", error)
        request_id = app.current_event.request_context.request_id
        return error_response(HTTPStatus.SERVICE_UNAVAILABLE, MESSAGE, (), str(request_id) if request_id else None)

    app.exception_handler(StoreThrottledError)(_table_throttled)  # Powertools' decorator is untyped
