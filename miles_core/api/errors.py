"""One JSON error shape for every Miles HTTP function, and the handlers that produce it.

Every 4xx/5xx body is::

    {"message": "...", "errors": [{"field": "items[2].title", "location": "body",
                                   "message": "...", "type": "string_too_short"}],
     "request_id": "..."}

``message`` mirrors API Gateway's own error bodies (``{"message": "Forbidden"}``), so a client
needs one code path for gateway and function errors; ``errors`` names each offending field in
the JSON-path style clients write (``items[2].title``). Nothing from Python (tracebacks, module
or file names) ever reaches a response.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel, ConfigDict, Field

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


STANDARD_ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed JSON.",
    403: "Missing or wrong x-api-key (answered by API Gateway).",
    413: "Body too large.",
    415: "Body is not application/json.",
    422: "Invalid field; `errors` names each one.",
}


def error_responses(**overrides: str) -> dict[int, Any]:
    """OpenAPI ``responses=`` for a route: the standard 4xx set, with per-route wording or extra codes.

    Keys are ``http_<status>``, e.g. ``error_responses(http_404="Unknown job.")``.
    """
    descriptions = dict(STANDARD_ERROR_DESCRIPTIONS)
    descriptions.update({int(key.removeprefix("http_")): text for key, text in overrides.items()})
    return {
        status: {"description": text, "content": {JSON_CONTENT_TYPE: {"model": ErrorResponse}}}
        for status, text in sorted(descriptions.items())
    }


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


def _clean_message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    # pydantic prefixes errors raised by validators; the prefix says nothing to an API client.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
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


def _request_id(app: APIGatewayRestResolver) -> str | None:
    try:
        request_id = app.current_event.request_context.request_id
    except (AttributeError, KeyError, TypeError):
        return None
    return str(request_id) if request_id else None


def register_error_handlers(app: APIGatewayRestResolver, logger: Any | None = None) -> None:
    """Map every failure to an :class:`ErrorResponse`: 400 malformed JSON, 413 too large, 415, 422, 404, 500.

    ``logger`` (a Powertools ``Logger``) receives unexpected exceptions with their traceback; the
    client only gets the request id. 500 must stay reserved for real bugs: tests fuzz the API to
    make sure no input reaches it.
    """

    def _validation(error: RequestValidationError) -> Response[str]:
        errors = field_errors(error.errors())
        if any(e.type == "json_invalid" for e in errors):
            return error_response(HTTPStatus.BAD_REQUEST, "request body is not valid JSON", errors, _request_id(app))
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, f"invalid request: {summary}", errors, _request_id(app))

    def _content_type(error: RequestUnsupportedContentType) -> Response[str]:
        errors = field_errors(error.errors())
        return error_response(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json", errors, _request_id(app)
        )

    def _api_error(error: ApiError) -> Response[str]:
        return error_response(error.status, error.message, error.errors, _request_id(app))

    def _service_error(error: ServiceError) -> Response[str]:
        return error_response(error.status_code, str(error.msg), (), _request_id(app))

    def _not_found(_: Exception) -> Response[str]:
        event = app.current_event
        return error_response(
            HTTPStatus.NOT_FOUND, f"no route for {event.http_method} {event.path}", (), _request_id(app)
        )

    def _unexpected(error: Exception) -> Response[str]:
        if logger is not None:
            logger.exception("unhandled error")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error", (), _request_id(app))

    # Powertools' decorators are untyped; registering by call keeps these functions type-checked.
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(RequestUnsupportedContentType)(_content_type)
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(ServiceError)(_service_error)
    app.not_found(_not_found)
    app.exception_handler(Exception)(_unexpected)


class StrictJsonError(ValueError):
    """Raised by :func:`strict_json_loads` for JSON that Python accepts but the API must not."""


def strict_json_loads(max_bytes: int) -> Any:
    """A JSON body parser that enforces the size limit and rejects NaN/Infinity and duplicate keys.

    ``json.loads`` accepts ``NaN`` and silently keeps the last of duplicate keys: both would turn
    a client bug into a silent default. Errors surface as ``json_invalid`` (400) through
    Powertools, which only catches :class:`json.JSONDecodeError`, hence the subclassing trick.
    """

    def _reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    def loads(body: str) -> Any:
        size = len(body.encode("utf-8"))
        if size > max_bytes:
            raise PayloadTooLargeError(size, max_bytes)
        try:
            return json.loads(body, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as error:
            raise json.JSONDecodeError(str(error), body, 0) from error

    return loads
