"""Build the one OpenAPI document of the whole API from the three API functions' resolvers.

Each function (predict, scrape, recommend) has its own Powertools resolver and so its own
``get_openapi_schema()``; API Gateway puts them behind one REST API. This merges them by route
(the local stack's route table says which function serves which route, and every route must be
found exactly once), checks shared component schemas agree, and writes the result to
:data:`miles_core.api.docs.DOCUMENT_PATH`, which the predict function serves. It runs at build time
(``make openapi``; a test compares the committed file with a fresh build) because importing every
function into the predict image would ship the scrape and recommend code there.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from infra.localstack.handlers import HandlerRef, load_handler
from infra.localstack.routes import ROUTES
from miles_core.api.docs import DOCUMENT_PATH
from miles_core.api.resolver import API_VERSION

TITLE = "Miles API"
DESCRIPTION = (
    "Short-form video growth prediction, scrape jobs with a scored leaderboard per topic, and scored video ideas. "
    "Every route but `/health`, `/docs` and `/openapi.json` needs the `x-api-key` header. Every error, whether a "
    "function or API Gateway answers it, has one JSON shape (`ErrorResponse`): `message`, `errors` (one entry per "
    "offending field), `request_id`. An unknown route answers 404 and an unknown method on a known path 405 "
    "(locally) in the same shape. Integers are JSON integers; strings are bounded and free of control and "
    "bidirectional formatting characters."
)


_POWERTOOLS_422 = "#/components/schemas/HTTPValidationError"
_ERROR_REF = "#/components/schemas/ErrorResponse"


def _miles_errors_only(operation: dict[str, Any]) -> None:
    """Powertools adds a 422 in its own ``HTTPValidationError`` shape to every validated route.

    Miles answers 422 in the one error shape, and only where there is input to be invalid: the
    Powertools entry is replaced by ``ErrorResponse`` there, and removed from routes without input.
    """
    response = operation.get("responses", {}).get("422")
    if response is None or response["content"]["application/json"]["schema"].get("$ref") != _POWERTOOLS_422:
        return
    if operation.get("parameters") or operation.get("requestBody"):
        response["description"] = "Invalid field; `errors` names each one."
        response["content"]["application/json"]["schema"] = {"$ref": _ERROR_REF}
    else:
        del operation["responses"]["422"]


def _referenced(document: dict[str, Any]) -> set[str]:
    """Names of the component schemas the paths reach, directly or through other schemas."""
    schemas = document["components"]["schemas"]
    seen: set[str] = set()
    pending = [document["paths"]]
    while pending:
        text = json.dumps(pending.pop())
        for name in schemas:
            if f'"#/components/schemas/{name}"' in text and name not in seen:
                seen.add(name)
                pending.append(schemas[name])
    return seen


def _schema(module: ModuleType) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(module.app.get_openapi_json_schema())
    return schema


def build_document() -> dict[str, Any]:
    """The merged document (imports the three handler modules; predict and recommend load the model)."""
    import sys

    modules: dict[HandlerRef, ModuleType] = {}
    for route in ROUTES:
        if route.target not in modules:
            load_handler(route.target)
            modules[route.target] = sys.modules[route.target.module]
    schemas = {target: _schema(module) for target, module in modules.items()}
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for route in ROUTES:
        operation = schemas[route.target].get("paths", {}).get(route.path, {}).get(route.method.lower())
        if operation is None:
            raise LookupError(f"{route.target.handler_file} documents no {route.method} {route.path}")
        _miles_errors_only(operation)
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    for target, schema in schemas.items():
        for kind, entries in schema.get("components", {}).items():
            merged = components.setdefault(kind, {})
            for name, entry in entries.items():
                if name in merged and merged[name] != entry:
                    raise ValueError(f"component {kind}/{name} differs between functions (seen again in {target})")
                merged[name] = entry
    document = {
        "openapi": schemas[ROUTES[0].target]["openapi"],
        "info": {"title": TITLE, "version": API_VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {kind: dict(sorted(entries.items())) for kind, entries in sorted(components.items())},
    }
    used = _referenced(document)
    document["components"]["schemas"] = {
        name: schema for name, schema in document["components"]["schemas"].items() if name in used
    }
    return document


def render(document: dict[str, Any]) -> str:
    """The committed file's exact text (stable key order, trailing newline)."""
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.openapi", description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCUMENT_PATH)
    parser.add_argument("--check", action="store_true", help="fail when the file differs from a fresh build")
    args = parser.parse_args(argv)
    text = render(build_document())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run `make openapi`")
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(document_paths(text))} paths)")
    return 0


def document_paths(text: str) -> list[str]:
    return list(json.loads(text)["paths"])
