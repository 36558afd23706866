"""An HTTP transport whose timeout is a wall-clock deadline, not a per-read idle limit.

httpx's ``read`` timeout restarts with every chunk, so a server that trickles its answer one byte at a
time never trips it: the openai client's ``timeout=`` alone does not bound how long a request takes. This
transport turns the request's timeout (the LLM path passes its *remaining budget*) into a deadline at the
moment the request starts (every socket timeout is set to that budget too) and checks it between the
chunks of the body, raising ``httpx2.ReadTimeout`` (which the openai client reports as
``APITimeoutError``) as soon as the deadline has passed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2


class _DeadlineStream(httpx2.SyncByteStream):
    """The response body, cut off with ``ReadTimeout`` once ``deadline`` (monotonic seconds) has passed."""

    def __init__(self, inner: httpx2.SyncByteStream, deadline: float, request: httpx2.Request) -> None:
        self._inner = inner
        self._deadline = deadline
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if time.monotonic() > self._deadline:
                raise httpx2.ReadTimeout("response body not complete before the deadline", request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class DeadlineTransport(httpx2.BaseTransport):
    """Wraps a transport so each request's timeout bounds the whole request, trickled bodies included."""

    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts = dict(request.extensions.get("timeout") or {})
        limits = [value for value in timeouts.values() if isinstance(value, int | float)]
        if not limits:
            return self._inner.handle_request(request)
        budget = float(max(limits))
        deadline = time.monotonic() + budget
        request.extensions = {**request.extensions, "timeout": {key: budget for key in timeouts}}
        response = self._inner.handle_request(request)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            response.close()
            raise httpx2.ReadTimeout("response headers not complete before the deadline", request=request)
        assert isinstance(response.stream, httpx2.SyncByteStream)
        response.stream = _DeadlineStream(response.stream, deadline, request)
        return response

    def close(self) -> None:
        self._inner.close()
