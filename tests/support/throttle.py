"""Throttle DynamoDB calls *below* botocore's retry handler, so its real retries are what gets tested.

A ``before-send`` handler answers chosen calls with DynamoDB's HTTP 400
``ProvisionedThroughputExceededException`` instead of sending them (moto answers the rest). The
answer goes through botocore's parser and its standard-mode retry handler exactly as a real throttle
from AWS would, so a test sees how many tries botocore made and what the store raises after them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders

from miles_core.store import deserialize_item


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Throttle:
    """Throttles ``operation`` calls whose key matches ``key`` (any key when ``None``), ``failures`` times."""

    def __init__(
        self, client: Any, operation: str, failures: int, key: Callable[[dict[str, Any]], bool] | None = None
    ) -> None:
        self.operation = operation
        self.failures = failures
        self.key = key
        self.throttled = 0
        self.sent = 0
        client.meta.events.register_first(f"before-send.dynamodb.{operation}", self._before_send)

    def _before_send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        raw = request.body  # before-send gets the prepared request: DynamoDB's JSON protocol sends bytes
        if not isinstance(raw, str | bytes | bytearray | None):
            raise TypeError(f"expected a DynamoDB JSON body, got {type(raw).__name__}")
        body = json.loads(raw or b"{}")
        if self.key is not None and not self.key(deserialize_item(body.get("Key", {}))):
            return None
        self.sent += 1
        if self.throttled >= self.failures:
            return None
        self.throttled += 1
        # Every before-send handler runs (moto's too, which would apply the write): point this one
        # request at a harmless read, so a throttled write really is not written. botocore builds a
        # new request for each retry, so nothing leaks into the next try.
        request.headers["X-Amz-Target"] = "DynamoDB_20120810.DescribeLimits"
        request.body = b"{}"
        payload = {
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded.",
        }
        headers = HTTPHeaders()
        headers["x-amzn-requestid"] = "throttle"
        headers["content-type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 400, headers, _Raw(json.dumps(payload).encode()))
