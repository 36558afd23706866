"""Build the Powertools REST resolver every Miles API function uses, configured the same way.

Why one factory: the three API functions (predict, scrape, recommend) sit behind one API Gateway
REST API, so they must agree on error bodies, JSON strictness, body limits, the API-key security
scheme in their OpenAPI documents and where those documents live. Usage in a handler module::

    from miles_core.api import build_resolver

    app = build_resolver(title="Miles scrape API", description="...", max_body_bytes=64 * 1024, logger=logger)

    @app.post("/scrape/jobs", security=API_KEY_SECURITY, summary="...")
    def create_job(request: JobRequest) -> JobResponse: ...

Pydantic models in route signatures are validated by Powertools (``enable_validation=True``);
failures become 422 :class:`~miles_core.api.errors.ErrorResponse` bodies naming the field. Only
public Powertools hooks are used (``json_body_deserializer``, ``app.use``, exception handlers):
:mod:`miles_core.api.body` says what a body may be, :mod:`miles_core.api.exception_handlers` maps
each failure to its status.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from miles_core.api.body import json_bodies_only, strict_json_loads
from miles_core.api.docs import DOCS_PATH, OPENAPI_PATH, register_docs
from miles_core.api.exception_handlers import register_error_handlers

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import SecurityScheme

API_VERSION = "1.0.0"
DEFAULT_MAX_BODY_BYTES = 256 * 1024
"""API Gateway REST accepts 10 MB and Lambda 6 MB; no Miles request needs more than this."""
API_KEY_SCHEME = "apiKey"
API_KEY_SECURITY: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]
"""Pass as ``security=`` on every route that API Gateway protects with an API key."""
PUBLIC_PATHS = frozenset({"/health", DOCS_PATH, OPENAPI_PATH, "/", "/static/{name}"})
"""Routes API Gateway serves without an API key (health, the API's documentation, the creator page and its
static files); every other route needs ``x-api-key``."""
API_KEY_SCHEME_OBJECT = {
    "type": "apiKey",
    "in": "header",
    "name": "x-api-key",
    "description": "API Gateway API key (usage plan).",
}
"""The OpenAPI security scheme, as plain data: Powertools validates it into its ``APIKey`` model only
when a schema is generated (``make openapi``). Importing that model module here instead cost ~75 ms
of every cold start (``python -X importtime``), for a document Lambda never builds (the predict
function serves the committed file)."""


def stage_base_path(event: APIGatewayProxyEvent) -> str:
    """The prefix clients call the API under: ``/dev`` on an execute-api URL, ``""`` elsewhere.

    API Gateway puts the stage in the path on its own URL but not behind a custom domain, and SAM
    local sends a stage that is not in the path; only a path starting with the stage has it.
    """
    context = event.request_context
    stage = context.stage
    if stage and stage != "$default" and context.path.startswith(f"/{stage}"):
        return f"/{stage}"
    return ""


def build_resolver(
    *,
    title: str,
    description: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    logger: Any | None = None,
    metrics: Any | None = None,
    openapi_document: Path | None = None,
) -> APIGatewayRestResolver:
    """A validating REST (v1 payload) resolver with Miles' error handling and OpenAPI setup.

    With ``openapi_document`` (the predict function, which API Gateway routes the docs to),
    ``GET /openapi.json`` serves that committed document of the whole API and ``GET /docs`` Swagger
    UI for it (see :mod:`miles_core.api.docs`).
    """
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=strict_json_loads(max_body_bytes))
    app.use([json_bodies_only])
    security_schemes = cast("dict[str, SecurityScheme]", {API_KEY_SCHEME: dict(API_KEY_SCHEME_OBJECT)})
    app.configure_openapi(title=title, version=API_VERSION, description=description, security_schemes=security_schemes)
    register_error_handlers(app, logger, metrics)
    if openapi_document is not None:
        register_docs(app, openapi_document, lambda event: stage_base_path(event) or "/")
    return app
