"""Shared HTTP plumbing for Miles' API Gateway (REST, v1 payload) Lambda handlers.

* :func:`build_resolver` - a Powertools ``APIGatewayRestResolver`` with validation, strict JSON
  (size limit, no NaN, no duplicate keys), one error body shape, the API-key security scheme,
  ``GET /docs`` (offline Swagger UI) and ``GET /openapi.json``.
* :class:`ApiError` - raise it from a route for a 4xx with the standard body;
  :class:`ErrorResponse` / :class:`FieldError` - that body;
  :func:`responses` - a route's OpenAPI ``responses=`` (success model + error statuses).
* :data:`API_KEY_SECURITY` - ``security=`` value for routes that need ``x-api-key``;
  :data:`PUBLIC_PATHS` - the routes that do not.
"""

from miles_core.api.docs import DOCS_PATH, OPENAPI_PATH
from miles_core.api.errors import (
    ApiError,
    ErrorResponse,
    FieldError,
    PayloadTooLargeError,
    error_response,
)
from miles_core.api.resolver import (
    API_KEY_SECURITY,
    DEFAULT_MAX_BODY_BYTES,
    PUBLIC_PATHS,
    build_resolver,
)
from miles_core.api.responses import JSON_BODY_ERRORS, KEYED, PUBLIC, responses

__all__ = [
    "API_KEY_SECURITY",
    "DEFAULT_MAX_BODY_BYTES",
    "DOCS_PATH",
    "JSON_BODY_ERRORS",
    "KEYED",
    "OPENAPI_PATH",
    "PUBLIC",
    "PUBLIC_PATHS",
    "ApiError",
    "ErrorResponse",
    "FieldError",
    "PayloadTooLargeError",
    "build_resolver",
    "error_response",
    "responses",
]
