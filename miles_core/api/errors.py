"""One JSON error shape for every Miles HTTP function: the body model, the errors that carry it.

Every 4xx/5xx body is::

    {"message": "...", "errors": [{"field": "items[2].title", "location": "body",
                                   "message": "...", "type": "string_too_short"}],
     "request_id": "..."}

``message`` mirrors API Gateway's own error bodies (``{"message": "Forbidden"}``), so a client
needs one code path for gateway and function errors; ``errors`` names each offending field in
the JSON-path style clients write (``items[2].title``). Nothing from Python (tracebacks, module
or file names) ever reaches a response; :mod:`miles_core.api.exception_handlers` maps every failure here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict, Field

from miles_core.api.fields import MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN, TOPIC_PATTERN

JSON_CONTENT_TYPE = "application/json"


class FieldError(BaseModel):
    """One problem with one field of the request."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="JSON path of the offending field, e.g. `title` or `items[2].view_count`.")
    location: str = Field(description="Where the field is: `body`, `query`, `path` or `header`.")
    message: str = Field(description="What is wrong, in words.")
    type: str = Field(description="Stable machine-readable error code, e.g. `string_too_short`, `extra_forbidden`.")


class ErrorResponse(BaseModel):
    """Body of every error response of a Miles API."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(description="Summary of the error.")
    errors: list[FieldError] = Field(default_factory=list, description="One entry per offending field (may be empty).")
    request_id: str | None = Field(default=None, description="API Gateway request id; quote it when reporting.")


class ApiError(Exception):
    """Raise from a route to answer with a given status and an :class:`ErrorResponse` body."""

    def __init__(self, status: HTTPStatus, message: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)


class PayloadTooLargeError(ApiError):
    """The request body exceeds the function's documented limit (checked before parsing)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"request body is {size} bytes; the limit is {limit} bytes",
            [FieldError(field="body", location="body", message=f"at most {limit} bytes", type="body_too_large")],
        )


class UnsupportedMediaTypeError(ApiError):
    """The request body is declared as something other than JSON (a form, plain text, multipart)."""

    def __init__(self, content_type: str) -> None:
        super().__init__(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "send the body as application/json",
            [
                FieldError(
                    field="body",
                    location="body",
                    message=f"content type {content_type!r} is not supported; send application/json",
                    type="unsupported_content_type",
                )
            ],
        )


def _format_location(loc: Iterable[Any]) -> tuple[str, str]:
    """Powertools/pydantic ``loc`` -> (location, JSON path): ``("body", "items", 2, "title")`` -> ``items[2].title``."""
    parts = list(loc)
    location = str(parts.pop(0)) if parts and parts[0] in ("body", "query", "path", "header", "cookie") else "body"
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return location, path or location


_TEXT_RULES = {
    SINGLE_LINE_PATTERN: "must hold a visible character and no control or bidirectional formatting characters",
    MULTI_LINE_PATTERN: "must not hold control characters (other than tab and line breaks) or bidirectional formatting",
    TOPIC_PATTERN: "must hold a visible character and no control or format (invisible) characters such as U+200B",
}
"""Messages for the shared text patterns, whose regular expressions hold the very characters they forbid."""


def _clean_message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    # pydantic prefixes errors raised by validators; the prefix says nothing to an API client.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    pattern = (error.get("ctx") or {}).get("pattern")
    if error.get("type") == "string_pattern_mismatch" and pattern in _TEXT_RULES:
        message = _TEXT_RULES[pattern]
    if error.get("type") == "json_invalid":
        detail = (error.get("ctx") or {}).get("error")
        message = f"malformed JSON: {detail}" if detail else "malformed JSON"
    return message


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """Convert pydantic / Powertools validation errors into :class:`FieldError` entries."""
    converted = []
    for error in errors:
        location, path = _format_location(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            path = "body"
        converted.append(
            FieldError(field=path, location=location, message=_clean_message(error), type=str(error.get("type")))
        )
    return converted


def error_response(
    status: HTTPStatus | int, message: str, errors: Sequence[FieldError] = (), request_id: str | None = None
) -> Response[str]:
    """A Powertools response carrying an :class:`ErrorResponse` body."""
    body = ErrorResponse(message=message, errors=list(errors), request_id=request_id)
    return Response(
        status_code=int(status),
        content_type=JSON_CONTENT_TYPE,
        body=body.model_dump_json(exclude_none=True),
    )
