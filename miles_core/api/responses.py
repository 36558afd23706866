"""OpenAPI ``responses=`` for a route: its success answer and every error status it can answer.

Why a helper: Powertools documents a route's default 200 only when ``responses=`` is not passed,
so a route that lists its errors must list its success answer too, or the document promises no
body for it. Every error is the one :class:`~miles_core.api.errors.ErrorResponse` shape, whether
a function or API Gateway itself answers it (``GatewayResponses`` in ``template.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from miles_core.api.errors import JSON_CONTENT_TYPE, ErrorResponse

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed JSON (or a malformed cursor).",
    403: "Missing or wrong `x-api-key` (answered by API Gateway).",
    404: "Not found.",
    409: "Conflicts with the current state of the resource.",
    413: "Body too large.",
    415: "Body is not `application/json`.",
    422: "Invalid field; `errors` names each one.",
    429: "Too many requests, or a quota is used up: retry later (API Gateway throttling and usage-plan quota).",
    503: "A dependency is unavailable: retry later.",
}
JSON_BODY_ERRORS = (400, 413, 415, 422)
"""What any route reading a JSON body can answer about the body."""
KEYED = (403, 429)
"""What API Gateway answers for a route behind an API key and a usage plan."""
PUBLIC = (429,)
"""What API Gateway answers for a public route (stage throttling)."""


def responses(
    success: type[BaseModel] | dict[str, Any],
    *,
    errors: Iterable[int],
    status: int = 200,
    description: str = "OK.",
    media_type: str = JSON_CONTENT_TYPE,
    **wording: str,
) -> dict[int, Any]:
    """The route's success answer (a model, or a raw OpenAPI schema) plus its error statuses.

    ``wording`` overrides an error's description for this route: ``http_404="Unknown job."``.
    """
    content: dict[str, Any] = {"model": success} if isinstance(success, type) else {"schema": success}
    documented: dict[int, Any] = {status: {"description": description, "content": {media_type: content}}}
    overrides = {int(key.removeprefix("http_")): text for key, text in wording.items()}
    for code in sorted(set(errors) | set(overrides)):
        documented[code] = {
            "description": overrides.get(code, ERROR_DESCRIPTIONS[code]),
            "content": {JSON_CONTENT_TYPE: {"model": ErrorResponse}},
        }
    return documented
