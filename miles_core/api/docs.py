"""``GET /openapi.json`` and ``GET /docs`` from the committed document of the WHOLE API.

Why a file and not the resolver's own schema: API Gateway routes ``/docs`` and ``/openapi.json``
to the predict function, whose resolver knows only its own routes; building the other functions'
resolvers here would pull the scrape and recommend code and dependencies into the predict image.
``make openapi`` (``python -m infra.openapi``) merges the three resolvers' schemas into
:data:`DOCUMENT_PATH`, a test fails when it drifts, and this module serves it: the ``servers`` entry
is set per request to the stage prefix the client called, and Swagger UI is Powertools' own page
with its JS and CSS inlined (usable offline). Both are read on first request, not at import.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, Response

from miles_core.api.errors import JSON_CONTENT_TYPE
from miles_core.api.responses import PUBLIC, responses

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
"""The committed OpenAPI document of every route (generated; do not edit by hand)."""
DOCS_PATH = "/docs"
OPENAPI_PATH = "/openapi.json"


@functools.cache
def _document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@functools.cache
def document_json(path: Path, server_url: str) -> str:
    """The document as JSON with ``servers`` pointing at ``server_url`` (``/`` or the stage prefix)."""
    return json.dumps({**_document(path), "servers": [{"url": server_url}]}, indent=2)


@functools.cache
def swagger_page(path: Path, server_url: str) -> str:
    """Swagger UI for the document, JS and CSS inlined (no CDN)."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    assets = Path(swagger_ui.__file__).parent
    spec = document_json(path, server_url).replace("</", "<\\/")  # JSON inside a <script> must not close it
    return swagger_ui.generate_swagger_html(
        spec,
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )


def register_docs(app: APIGatewayRestResolver, document: Path, server_url: Any) -> None:
    """Add ``GET /openapi.json`` and ``GET /docs`` (public, gzip on request) serving ``document``.

    ``server_url`` is called per request with the app's current event (the stage prefix or ``/``).
    """

    @app.get(
        OPENAPI_PATH,
        summary="This OpenAPI 3 document (no API key)",
        responses=responses({"type": "object"}, errors=PUBLIC, description="The OpenAPI document of every route."),
        tags=["docs"],
    )
    def openapi_document() -> Response[str]:
        return Response(
            status_code=200, content_type=JSON_CONTENT_TYPE, body=document_json(document, server_url(app.current_event))
        )

    @app.get(
        DOCS_PATH,
        summary="Swagger UI for this document, usable offline (no API key)",
        responses=responses({"type": "string"}, errors=PUBLIC, description="Swagger UI page.", media_type="text/html"),
        tags=["docs"],
        compress=True,
    )
    def swagger() -> Response[str]:
        return Response(
            status_code=200, content_type="text/html", body=swagger_page(document, server_url(app.current_event))
        )
