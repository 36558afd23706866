"""Build the Powertools REST resolver every Miles API function uses, configured the same way.

Why one factory: the three API functions (predict, scrape, recommend) sit behind one API Gateway
REST API, so they must agree on error bodies, JSON strictness, body limits, the API-key security
scheme in their OpenAPI documents and where those documents live. Usage in a handler module::

    from miles_core.api import build_resolver

    app = build_resolver(title="Miles scrape API", description="...", max_body_bytes=64 * 1024, logger=logger)

    @app.post("/scrape/jobs", security=API_KEY_SECURITY, summary="...")
    def create_job(request: JobRequest) -> JobResponse: ...

Pydantic models in route signatures are validated by Powertools (``enable_validation=True``);
failures become 422 :class:`~miles_core.api.errors.ErrorResponse` bodies naming the field.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import APIKey, Server

from miles_core.api.errors import JSON_CONTENT_TYPE, register_error_handlers, strict_json_loads

API_VERSION = "1.0.0"
DEFAULT_MAX_BODY_BYTES = 256 * 1024
"""API Gateway REST accepts 10 MB and Lambda 6 MB; no Miles request needs more than this."""
API_KEY_SCHEME = "apiKey"
API_KEY_SECURITY: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]
"""Pass as ``security=`` on every route that API Gateway protects with an API key."""
DOCS_PATH = "/docs"
OPENAPI_PATH = "/openapi.json"
PUBLIC_PATHS = frozenset({"/health", DOCS_PATH, OPENAPI_PATH})
"""Routes API Gateway serves without an API key (the rest need ``x-api-key``)."""


class JsonOnlyRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, but bodies are JSON objects only.

    * Form and multipart bodies get 415: Powertools would parse ``application/x-www-form-urlencoded``
      (curl's default for ``-d``) into a dict and fail with a baffling field error.
      A missing content type is still read as JSON.
    * A body that is not UTF-8 (it arrives base64-encoded) is malformed JSON (400), not a 500.
    * A body that is not a JSON object (a list, a string, a number) gets 422: Powertools
      unwraps ``[{...}]`` to its first element for a model parameter, a silent guess.
    """

    def _get_body(self, app: Any) -> dict[str, Any]:
        content_type = app.current_event.headers.get("content-type", "").strip().lower()
        if content_type and not content_type.startswith("application/json"):
            raise RequestUnsupportedContentType(
                "Unsupported content type",
                errors=[
                    {
                        "type": "unsupported_content_type",
                        "loc": ("body",),
                        "msg": f"content type {content_type!r} is not supported; send application/json",
                        "input": {},
                        "ctx": {},
                    }
                ],
            )
        try:
            body = self._parse_json_data(app)
        except UnicodeDecodeError as error:  # a base64 body that is not UTF-8 text
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body",),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": f"body is not UTF-8 text ({error.reason})"},
                    }
                ]
            ) from error
        if body is not None and not isinstance(body, dict):
            raise RequestValidationError(
                [
                    {
                        "type": "model_attributes_type",
                        "loc": ("body",),
                        "msg": f"the body must be a JSON object, not {type(body).__name__}",
                        "input": {},
                    }
                ]
            )
        return body


def build_resolver(
    *,
    title: str,
    description: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    logger: Any | None = None,
    docs: bool = True,
) -> APIGatewayRestResolver:
    """A validating REST (v1 payload) resolver with Miles' error handling and OpenAPI setup.

    With ``docs`` (default), ``GET /docs`` serves Swagger UI with its JS and CSS inlined (usable
    offline, gzip-compressed when the client accepts it) and ``GET /openapi.json`` the document.
    """
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=strict_json_loads(max_body_bytes))
    # Replaces the instance Powertools created for enable_validation; it is wired into routes lazily.
    app._request_validation_middleware = JsonOnlyRequestValidation()  # type: ignore[no-untyped-call]
    security_schemes: dict[str, Any] = {
        API_KEY_SCHEME: APIKey.model_validate(
            {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "API Gateway API key (usage plan)."}
        )
    }
    app.configure_openapi(title=title, version=API_VERSION, description=description, security_schemes=security_schemes)
    register_error_handlers(app, logger)
    if docs:
        app.enable_swagger(path=DOCS_PATH, title=title, version=API_VERSION, compress=True)

        @app.get(OPENAPI_PATH, include_in_schema=False)
        def _openapi_document() -> Response[str]:
            return Response(
                status_code=200,
                content_type=JSON_CONTENT_TYPE,
                body=app.get_openapi_json_schema(servers=[Server(url=app._get_base_path() or "/")]),
            )

    return app
