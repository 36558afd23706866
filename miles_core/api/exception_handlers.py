"""Powertools exception handlers that turn every failure into Miles' one error body.

400 malformed JSON (or a body that is not UTF-8), 413 too large, 415 not JSON, 422 invalid field
(naming it), 404 no route, 500 a bug (logged with its traceback; the client gets the request id
only). 500 must stay reserved for real bugs: tests fuzz the API to make sure no input reaches it.

A 500 is answered, not raised, so Lambda's ``Errors`` metric never counts it: the handler adds one
:data:`UNHANDLED_ERROR_METRIC` to the function's Powertools metrics instead, and the template alarms on it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit

from miles_core.api.body import body_is_not_utf8, unsupported_content_type
from miles_core.api.errors import ApiError, FieldError, UnsupportedMediaTypeError, error_response, field_errors

UNHANDLED_ERROR_METRIC = "UnhandledError"
"""The Powertools metric (namespace ``POWERTOOLS_METRICS_NAMESPACE``, dimension ``service``) of each 500."""

_NOT_UTF8 = FieldError(
    field="body", location="body", message="malformed JSON: body is not UTF-8 text", type="json_invalid"
)


def _request_id(app: APIGatewayRestResolver) -> str | None:
    try:
        request_id = app.current_event.request_context.request_id
    except (AttributeError, KeyError, TypeError):
        return None
    return str(request_id) if request_id else None


def register_error_handlers(app: APIGatewayRestResolver, logger: Any | None = None, metrics: Any | None = None) -> None:
    """Register Miles' handlers on ``app``; ``logger`` (a Powertools ``Logger``) gets unexpected exceptions and
    ``metrics`` (Powertools ``Metrics``, flushed by the handler's ``log_metrics``) counts them."""

    def _api_error(error: ApiError) -> Response[str]:
        return error_response(error.status, error.message, error.errors, _request_id(app))

    def _unsupported(content_type: str) -> Response[str]:
        return _api_error(UnsupportedMediaTypeError(content_type))

    def _validation(error: RequestValidationError) -> Response[str]:
        content_type = unsupported_content_type(app.current_event)
        if content_type is not None:  # Powertools parsed a form/multipart body and it did not fit the model
            return _unsupported(content_type)
        errors = field_errors(error.errors())
        if any(e.type == "json_invalid" for e in errors):
            return error_response(HTTPStatus.BAD_REQUEST, "request body is not valid JSON", errors, _request_id(app))
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, f"invalid request: {summary}", errors, _request_id(app))

    def _content_type(_: RequestUnsupportedContentType) -> Response[str]:
        return _unsupported(unsupported_content_type(app.current_event) or "unknown")

    def _not_utf8(error: UnicodeDecodeError) -> Response[str]:
        if not body_is_not_utf8(app.current_event):
            return _unexpected(error)  # raised by code, not by decoding the request body
        return error_response(HTTPStatus.BAD_REQUEST, "request body is not valid JSON", [_NOT_UTF8], _request_id(app))

    def _service_error(error: ServiceError) -> Response[str]:
        return error_response(error.status_code, str(error.msg), (), _request_id(app))

    def _not_found(_: Exception) -> Response[str]:
        event = app.current_event
        return error_response(
            HTTPStatus.NOT_FOUND, f"no route for {event.http_method} {event.path}", (), _request_id(app)
        )

    def _unexpected(error: Exception) -> Response[str]:
        content_type = unsupported_content_type(app.current_event)
        if content_type is not None:  # e.g. Powertools' multipart parser on a body without a boundary
            return _unsupported(content_type)
        if logger is not None:
            logger.exception("unhandled error")
        if metrics is not None:
            metrics.add_metric(name=UNHANDLED_ERROR_METRIC, unit=MetricUnit.Count, value=1)
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error", (), _request_id(app))

    # Powertools' decorators are untyped; registering by call keeps these functions type-checked.
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(RequestUnsupportedContentType)(_content_type)
    app.exception_handler(UnicodeDecodeError)(_not_utf8)
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(ServiceError)(_service_error)
    app.not_found(_not_found)
    app.exception_handler(Exception)(_unexpected)
