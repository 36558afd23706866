"""Shared HTTP plumbing for Miles' API Gateway (REST, v1 payload) Lambda handlers.

* :func:`build_resolver` - a Powertools ``APIGatewayRestResolver`` with validation, strict JSON
  (size limit, no NaN, no duplicate keys), one error body shape, the API-key security scheme,
  ``GET /docs`` (offline Swagger UI) and ``GET /openapi.json``.
* :class:`ApiError` - raise it from a route for a 4xx with the standard body;
  :class:`ErrorResponse` / :class:`FieldError` - that body, for OpenAPI ``responses=``.
* :func:`build_observability` - Logger (correlation id), Metrics (namespace fallback), Tracer.
* :data:`API_KEY_SECURITY` - ``security=`` value for routes that need ``x-api-key``;
  :data:`PUBLIC_PATHS` - the routes that do not.
"""

from miles_core.api.errors import (
    ApiError,
    ErrorResponse,
    FieldError,
    PayloadTooLargeError,
    error_response,
    error_responses,
)
from miles_core.api.observability import Observability, build_observability
from miles_core.api.resolver import (
    API_KEY_SECURITY,
    DEFAULT_MAX_BODY_BYTES,
    DOCS_PATH,
    OPENAPI_PATH,
    PUBLIC_PATHS,
    build_resolver,
)

__all__ = [
    "API_KEY_SECURITY",
    "DEFAULT_MAX_BODY_BYTES",
    "DOCS_PATH",
    "OPENAPI_PATH",
    "PUBLIC_PATHS",
    "ApiError",
    "ErrorResponse",
    "FieldError",
    "Observability",
    "PayloadTooLargeError",
    "build_observability",
    "build_resolver",
    "error_response",
    "error_responses",
]
