"""What API Gateway itself answers, before any function runs, in the functions' one error shape.

``template.yaml`` maps API Gateway's own responses (``GatewayResponses``) to the
``{"message", "errors", "request_id"}`` body every function answers with; the local stack answers
the same bodies, so a client sees one shape on every path, locally and deployed
(``tests/deploy/test_gateway_responses.py`` renders the template's mapping templates and compares).

One local difference, on purpose: a known path with an unknown method (``TRACE /predict``) is 405
with an ``Allow`` header, as HTTP (RFC 9110) asks, where a REST API answers it like an unknown
route (404 here, through ``MISSING_AUTHENTICATION_TOKEN``).
"""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus
from typing import Any

GatewayAnswer = tuple[int, list[tuple[str, str]], bytes]

INVALID_API_KEY_MESSAGE = "Missing or invalid x-api-key header"
TOO_LARGE_MESSAGE = "Request body too large"


def _answer(
    status: HTTPStatus,
    error_type: str,
    message: str,
    errors: list[dict[str, str]] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> GatewayAnswer:
    body: dict[str, Any] = {"message": message, "errors": errors or [], "request_id": str(uuid.uuid4())}
    return (
        int(status),
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type), *(headers or [])],
        json.dumps(body).encode("utf-8"),
    )


def no_route(method: str, path: str) -> GatewayAnswer:
    """``MISSING_AUTHENTICATION_TOKEN`` (no resource or method): 404, as the template maps it."""
    return _answer(HTTPStatus.NOT_FOUND, "MissingAuthenticationTokenException", f"No route for {method} {path}")


def method_not_allowed(method: str, path: str, allowed: list[str]) -> GatewayAnswer:
    """A known path, an unknown method: 405 with ``Allow`` (local stack only, see the module docstring)."""
    return _answer(
        HTTPStatus.METHOD_NOT_ALLOWED,
        "MethodNotAllowedException",
        f"Method {method} is not allowed on {path}",
        headers=[("Allow", ", ".join(sorted(allowed)))],
    )


def invalid_api_key() -> GatewayAnswer:
    """``INVALID_API_KEY``: 403 naming the header."""
    return _answer(
        HTTPStatus.FORBIDDEN,
        "ForbiddenException",
        INVALID_API_KEY_MESSAGE,
        [{"field": "x-api-key", "location": "header", "message": "send a valid API key", "type": "invalid_api_key"}],
    )


def request_too_large() -> GatewayAnswer:
    """``REQUEST_TOO_LARGE``: 413 over API Gateway's 10 MB payload limit."""
    return _answer(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "RequestTooLongException",
        TOO_LARGE_MESSAGE,
        [{"field": "body", "location": "body", "message": "body too large", "type": "body_too_large"}],
    )


def bad_request() -> GatewayAnswer:
    """``DEFAULT_4XX`` for a request HTTP cannot frame (bad ``Content-Length`` or chunk size)."""
    return _answer(HTTPStatus.BAD_REQUEST, "BadRequestException", "Bad request")


def integration_failure() -> GatewayAnswer:
    """``DEFAULT_5XX``: the function raised or returned a malformed proxy response (502)."""
    return _answer(HTTPStatus.BAD_GATEWAY, "InternalServerErrorException", "Internal server error")


CATALOG_LOADING_MESSAGE = "catalog still loading: the local catalog's videos are being seeded and scored"
CATALOG_RETRY_AFTER_SECONDS = 10


def catalog_loading(failure: str | None = None) -> GatewayAnswer:
    """``make run`` only: recommendations before the seeded catalog is scored would come from an empty store (503).

    ``failure``: seeding failed, so it never will be: the answer says why and that a restart is needed.
    """
    if failure is not None:
        message = f"the local catalog could not be seeded ({failure}): restart make run; GET /health shows its state"
        return _answer(HTTPStatus.SERVICE_UNAVAILABLE, "CatalogFailed", message)
    return _answer(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "CatalogLoading",
        CATALOG_LOADING_MESSAGE,
        headers=[("Retry-After", str(CATALOG_RETRY_AFTER_SECONDS))],
    )
