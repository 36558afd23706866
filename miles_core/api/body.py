"""What a Miles API accepts as a request body: one UTF-8 JSON object, size-limited, strict.

Powertools' request validation parses a body by its content type (JSON, form, multipart) before any
user middleware runs, and exposes three public hooks that Miles uses instead of overriding it:

* the resolver's ``json_body_deserializer`` (:func:`strict_json_loads`): the size limit (413),
  NaN/Infinity and duplicate keys (400), and any document that is not an object (422; Powertools
  would unwrap ``[{...}]`` to its first element for a model parameter, a silent guess);
* a global middleware (:func:`json_bodies_only`, via ``app.use``) and the exception handlers
  (:mod:`miles_core.api.exception_handlers`): a request with a body whose content type is set and
  is not JSON is answered 415 whatever Powertools made of it. curl's ``-d`` sends a form content
  type; Powertools would parse it into a dict and fail (or pass) with a baffling field result.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from miles_core.api.errors import JSON_CONTENT_TYPE, PayloadTooLargeError, UnsupportedMediaTypeError


def strict_json_loads(max_bytes: int) -> Callable[[str], dict[str, Any]]:
    """A JSON body parser that enforces the size limit, rejects NaN/Infinity and duplicate keys, wants an object.

    ``json.loads`` accepts ``NaN`` and silently keeps the last of duplicate keys: both would turn
    a client bug into a silent default. Those surface as ``json_invalid`` (400) through Powertools,
    which turns only :class:`json.JSONDecodeError` into that error, hence the re-raise as one.
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

    def loads(body: str) -> dict[str, Any]:
        size = len(body.encode("utf-8"))
        if size > max_bytes:
            raise PayloadTooLargeError(size, max_bytes)
        try:
            document = json.loads(body, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as error:
            raise json.JSONDecodeError(str(error), body, 0) from error
        if not isinstance(document, dict):
            raise RequestValidationError(
                [
                    {
                        "type": "model_attributes_type",
                        "loc": ("body",),
                        "msg": f"the body must be a JSON object, not {type(document).__name__}",
                        "input": {},
                    }
                ]
            )
        return document

    return loads


def unsupported_content_type(event: BaseProxyEvent) -> str | None:
    """The request's content type when it carries a body that is declared as something other than JSON.

    A missing content type is read as JSON (clients often omit it); a request without a body
    (``GET``) is never refused for its header.
    """
    if not event.body:
        return None
    content_type = (event.headers.get("content-type") or "").strip().lower()
    if content_type and not content_type.startswith(JSON_CONTENT_TYPE):
        return content_type
    return None


def body_is_not_utf8(event: BaseProxyEvent) -> bool:
    """True when a base64-encoded body does not decode to UTF-8 text (malformed JSON, not a bug)."""
    if not (event.is_base64_encoded and event.body):
        return False
    try:
        base64.b64decode(event.body.encode()).decode("utf-8")
    except UnicodeDecodeError:
        return True
    except (binascii.Error, ValueError):
        return False
    return False


def json_bodies_only(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Global middleware: a non-JSON body that passed Powertools' validation still gets 415."""
    content_type = unsupported_content_type(app.current_event)
    if content_type is not None:
        raise UnsupportedMediaTypeError(content_type)
    return next_middleware(app)
