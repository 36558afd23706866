"""An HTTP transport whose timeout is one wall-clock deadline for the whole request.

httpx's timeouts are per operation: the ``read`` timeout restarts with every ``recv``, so a server that
trickles its status line and headers (or its body) one byte at a time never trips it, and checking a
deadline only once the headers are in comes far too late. Here the request's timeout (the LLM path passes
its *remaining budget*) becomes a deadline when the request starts, and every network operation the request
makes -- name resolution, TCP connect, TLS handshake, each write and each ``recv`` of headers and body --
gets only what is left of it as its socket timeout. Whatever the server does, the request therefore ends
by the deadline (plus scheduling slack) with ``httpx2.ConnectTimeout``/``ReadTimeout``/``WriteTimeout``,
which the openai client reports as ``APITimeoutError``, and the connection is dropped, never reused.

The deadline reaches the network layer through a context variable because httpcore hands its streams only
per-operation timeouts; it is set while the transport handles the request and while the body is read. A
caller with an absolute deadline (the LLM path's budget) wraps its call in :func:`deadline_scope`, so the
time the client spends building the request before the transport sees it counts too.
"""

from __future__ import annotations

import contextvars
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore2
import httpx2

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("miles_http_deadline", default=None)
"""The ``time.monotonic()`` instant the request being handled in this context must end by."""


@contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    """Every request a :class:`DeadlineTransport` handles in this block ends by ``deadline`` (``time.monotonic()``)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _remaining(timeout: float | None, error: type[httpcore2.TimeoutException], what: str) -> float | None:
    """The socket timeout for one operation: ``timeout`` capped by what is left until the deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error(f"deadline passed before {what}")
    return left if timeout is None else min(timeout, left)


def _resolve(host: str, port: int, timeout: float | None) -> list[tuple[str, int]]:
    """``host``'s addresses, waiting at most ``timeout``: ``getaddrinfo`` itself has no timeout.

    The lookup runs in a daemon thread; when it outlives the deadline it is left to finish on its own
    (it holds no socket), and the request fails now with ``ConnectTimeout``.
    """
    found: list[tuple[str, int]] = []
    failure: list[OSError] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            found.extend((str(info[4][0]), port) for info in infos)
        except OSError as error:
            failure.append(error)

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise httpcore2.ConnectTimeout(f"resolving {host} did not finish before the deadline")
    if failure:
        raise httpcore2.ConnectError(str(failure[0]))
    return list(dict.fromkeys(found))


class _DeadlineNetworkStream(httpcore2.NetworkStream):
    """A connection whose every operation is bounded by the deadline of the request using it."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout, httpcore2.ReadTimeout, "reading"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout, httpcore2.WriteTimeout, "writing"))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        bounded = _remaining(timeout, httpcore2.ConnectTimeout, "the TLS handshake")
        return _DeadlineNetworkStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineNetworkBackend(httpcore2.NetworkBackend):
    """httpcore's socket backend with name resolution, connect and every stream operation deadline-bound."""

    def __init__(self, inner: httpcore2.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        addresses = _resolve(host, port, _remaining(timeout, httpcore2.ConnectTimeout, "name resolution"))
        last: Exception = httpcore2.ConnectError(f"{host} has no address")
        for address, address_port in addresses:
            bounded = _remaining(timeout, httpcore2.ConnectTimeout, "connecting")
            try:
                stream = self._inner.connect_tcp(address, address_port, bounded, local_address, socket_options)
            except httpcore2.ConnectError as error:
                last = error  # the next address may answer (what socket.create_connection does too)
                continue
            return _DeadlineNetworkStream(stream)
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None
    ) -> httpcore2.NetworkStream:
        bounded = _remaining(timeout, httpcore2.ConnectTimeout, "connecting")
        return _DeadlineNetworkStream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineBody(httpx2.SyncByteStream):
    """The response body, each chunk read under the request's deadline."""

    def __init__(self, inner: httpx2.SyncByteStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            with deadline_scope(self._deadline):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        self._inner.close()


class DeadlineTransport(httpx2.HTTPTransport):
    """httpx's transport where a request's timeout is one deadline for all of it, headers and body included.

    The largest of the request's timeouts (the openai client sets them all to the attempt's ``timeout=``)
    is the budget, counted from when the transport gets the request; an enclosing :func:`deadline_scope`
    that ends sooner wins. The connection pool is httpcore's own, built with :class:`DeadlineNetworkBackend`:
    httpx offers no public way to pass a network backend to its transport, so this builds the pool
    ``HTTPTransport.__init__`` would (httpx's default limits and TLS context, no proxy) with the backend, and
    inherits the rest (request mapping, httpcore-to-httpx exception mapping, close) unchanged.
    """

    def __init__(self) -> None:  # the base's __init__ is not called: it would build a pool only to drop it
        limits = httpx2.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=DeadlineNetworkBackend(),
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts = [
            value for value in (request.extensions.get("timeout") or {}).values() if isinstance(value, int | float)
        ]
        outer = _deadline.get()
        deadlines = ([time.monotonic() + max(timeouts)] if timeouts else []) + ([] if outer is None else [outer])
        if not deadlines:
            return super().handle_request(request)
        deadline = min(deadlines)
        with deadline_scope(deadline):
            response = super().handle_request(request)
        assert isinstance(response.stream, httpx2.SyncByteStream)
        response.stream = _DeadlineBody(response.stream, deadline)
        return response
