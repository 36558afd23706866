"""The events and context Lambda hands a handler, built once for the local stack, the bench and tests.

* :func:`rest_event` - THE API Gateway REST (payload v1) proxy event builder. Mirrors what API
  Gateway sends a proxy-integrated Lambda: single- and multi-value headers and query strings
  (``None`` when absent, as API Gateway does), path parameters, a ``requestContext`` with a fresh
  ``requestId`` and the caller's API key, and a body that is base64-encoded (with
  ``isBase64Encoded``) only when it is not UTF-8 text. :func:`json_event` is its JSON shorthand.
* :func:`schedule_event` - an EventBridge scheduled event.
* :class:`LocalLambdaContext` - THE stand-in for Lambda's context object.
* :func:`decode_response` - a proxy result read back as strictly as API Gateway reads it.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

STAGE = "local"
ACCOUNT_ID = "123456789012"
API_ID = "milesloc01"
LAMBDA_TIMEOUT_MS = 29_000
"""API Gateway's integration timeout; handlers see it as their remaining time."""


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(name, []).append(value)
    return (single or None), (multi or None)


def rest_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    query: str = "",
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    api_key_required: bool = True,
    source_ip: str = "127.0.0.1",
    host: str = "127.0.0.1",
) -> dict[str, Any]:
    """The proxy event API Gateway would send for this request.

    ``resource`` is the route's path template (``/scrape/jobs/{job_id}``; default: ``path``); the
    caller's ``x-api-key`` reaches ``requestContext.identity`` only on routes that require a key.
    """
    header_pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
    single_headers, multi_headers = _multi(header_pairs)
    single_query, multi_query = _multi(parse_qsl(query, keep_blank_values=True))
    lowered = {name.lower(): value for name, value in header_pairs}
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if not raw:
        body_text, is_base64 = None, False
    else:
        try:
            body_text, is_base64 = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            body_text, is_base64 = base64.b64encode(raw).decode("ascii"), True
    resource = resource or path
    request_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": format(zlib.crc32(resource.encode()) % 0xFFFFFF, "06x"),
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": request_id.replace("-", "")[:16] + "=",
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": path,
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": lowered.get("user-agent"),
                "user": None,
                "apiKey": lowered.get("x-api-key") if api_key_required else None,
                "apiKeyId": "localkey" if api_key_required else None,
            },
            "domainName": host,
            "apiId": API_ID,
        },
        "body": body_text,
        "isBase64Encoded": is_base64,
    }


def json_event(
    method: str,
    path: str,
    payload: Any = None,
    *,
    raw: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """:func:`rest_event` for a JSON API call: ``payload`` serialised (or ``raw`` as is), JSON content type."""
    body = raw if raw is not None else (None if payload is None else json.dumps(payload))
    return rest_event(
        method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})}, **options
    )


def schedule_event(scheduled_at: str | None = None, region: str = "us-east-1") -> dict[str, Any]:
    """An EventBridge scheduled event (the shape ``sam local generate-event cloudwatch scheduled-event`` makes)."""
    moment = scheduled_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment,
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/miles-scrape-schedule"],
        "detail": {},
    }


@dataclass(frozen=True)
class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    deadline_ms: float = 0.0

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.deadline_ms - time.time() * 1000))

    @classmethod
    def for_request(cls, function_name: str, timeout_ms: int = LAMBDA_TIMEOUT_MS) -> LocalLambdaContext:
        """A fresh invocation: new request id, ``timeout_ms`` left (API Gateway's 29 s by default)."""
        return cls(
            function_name=function_name,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{function_name}",
            deadline_ms=time.time() * 1000 + timeout_ms,
        )


class BadLambdaResponseError(ValueError):
    """The handler returned something API Gateway would answer with 502."""


def decode_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Lambda proxy result -> (status, headers, body bytes), strict like API Gateway."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise BadLambdaResponseError("proxy result needs an integer statusCode")
    headers: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            headers.append((str(name), str(value)))
        seen.add(str(name).lower())
    for name, value in (result.get("headers") or {}).items():
        if str(name).lower() not in seen:
            headers.append((str(name), str(value)))
    body = result.get("body") or ""
    if not isinstance(body, str):
        body = json.dumps(body)
    try:
        data = base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else body.encode("utf-8")
    except (binascii.Error, ValueError) as error:
        raise BadLambdaResponseError("isBase64Encoded body is not valid base64") from error
    return int(result["statusCode"]), headers, data
