"""``make run``: real HTTP on loopback -> API Gateway REST proxy events -> the real Lambda handlers.

What API Gateway does in front of the functions is reproduced here, and nothing more: route
matching on the route table (unknown route: 404; unknown method on a known path: 405 with
``Allow``), the API-key check (403), the 10 MB payload limit (413), the proxy event, and 502 when a
handler raises or returns a malformed result; each in the functions' one error shape, as the
template's ``GatewayResponses`` make API Gateway answer (:mod:`infra.localstack.gateway`). Each function
serves one request at a time, like one Lambda container (Powertools resolvers keep the current
event on the app object, so they must not be shared between threads).

Handlers are imported on first use from the route's template handler string (``app.handler`` in
``functions/<name>/``, see :mod:`infra.localstack.handlers`), so a function that is still being
written only breaks its own routes.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from infra.localstack import gateway
from infra.localstack.catalog import CatalogState, CatalogStatus
from infra.localstack.events import BadLambdaResponseError, LocalLambdaContext, decode_response, rest_event
from infra.localstack.handlers import Handler, HandlerRef, load_handler
from infra.localstack.routes import ROUTES, Route, allowed_methods, find_route
from miles_core.config import env_int, env_str
from miles_core.relevance import TopicEncoder
from miles_core.scraping.catalog import use_topic_encoder

logger = logging.getLogger(__name__)
DEFAULT_TABLE_NAME = "miles-local"
DEFAULT_PORT = 8000
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
"""API Gateway REST's request payload limit."""
MAX_DRAIN_BYTES = 64 * 1024 * 1024
"""An over-limit body is read and dropped up to this size before answering 413."""
MAX_CHUNK_LINE_BYTES = 1024
"""A chunk-size line (hex size, extensions, CRLF) longer than this is malformed (400), never buffered."""
CATALOG_GATED_FUNCTION = "recommend"
HEALTH_PATH = "/health"
"""The function that waits for the seeded catalog (its answers are built from the stored videos)."""


class HandlerRegistry:
    """Loads each function's handler once, on first use, and runs one API invocation at a time.

    One lock for every function, not one per function: in AWS each function has its own process,
    here they share one, and Powertools keeps the current event on the ``BaseRouter`` *class*, so a
    ``/predict`` and a ``/candidates`` request handled at once read each other's event (``make load``
    found ``GET /candidates`` answering 422 "topic: Field required" under concurrent load).
    """

    def __init__(self) -> None:
        self._handlers: dict[HandlerRef, Handler] = {}
        self._load_lock = threading.Lock()
        self._invoke_lock = threading.Lock()

    def handler(self, target: HandlerRef) -> Handler:
        """The handler callable (imports the function's module the first time)."""
        with self._load_lock:
            if target not in self._handlers:
                started = time.perf_counter()
                self._handlers[target] = load_handler(target)
                logger.info("loaded %s in %.2f s", target.handler_file, time.perf_counter() - started)
            return self._handlers[target]

    def invoke(self, target: HandlerRef, event: dict[str, Any]) -> Any:
        """Call the handler like Lambda: one invocation at a time (see the class docstring)."""
        handler = self.handler(target)
        with self._invoke_lock:
            return handler(event, LocalLambdaContext.for_request(target.function))


class LocalApiServer(ThreadingHTTPServer):
    """The HTTP front: route table, API keys and the handler registry."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], api_key: str, routes: tuple[Route, ...] = ROUTES) -> None:
        super().__init__(address, _RequestHandler)
        self.api_key = api_key
        self.routes = routes
        self.registry = HandlerRegistry()
        self.catalog = CatalogStatus()
        """The seeded catalog's progress: until it settles recommendations answer 503 (they would be built
        from an empty store), and for good when seeding failed. ``GET /health`` reports it."""

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per keep-alive request).
    disable_nagle_algorithm = True
    server: LocalApiServer

    def __getattr__(self, name: str) -> Any:
        """Every method reaches the route table, even one http.server has no ``do_`` for (``QUERY``).

        ``BaseHTTPRequestHandler`` answers a method without a ``do_<METHOD>`` attribute with an HTML
        501; API Gateway routes (or refuses, in the error shape) whatever method a client sends.
        """
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _chunk_line(self) -> bytes:
        """One CRLF-terminated line of a chunked body, bounded: a longer or cut line is malformed."""
        line = self.rfile.readline(MAX_CHUNK_LINE_BYTES + 1)
        if not line.endswith(b"\n"):
            raise ValueError("chunk line too long or cut")
        return line

    def _has_body(self) -> bool:
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        return chunked or int(self.headers.get("Content-Length") or 0) > 0

    def _read_body(self) -> bytes | None:
        """The request body, or ``None`` when it is over API Gateway's limit (then unread)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self._chunk_line().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self._chunk_line()
                    break
                total += size
                if total > MAX_PAYLOAD_BYTES:
                    self.close_connection = True
                    return None
                chunks.append(self.rfile.read(size))
                self._chunk_line()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            # Drain (bounded) so the client sees the 413 instead of a broken pipe, then close.
            remaining = min(length, MAX_DRAIN_BYTES)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        started = time.perf_counter()
        split = urlsplit(self.path)
        method = self.command.upper()
        try:
            status, headers, body = self._answer(method, split.path, split.query)
        except ValueError:  # malformed Content-Length or chunk size
            status, headers, body = gateway.bad_request()
            self.close_connection = True
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)
        logger.info("%s %s -> %d (%.1f ms)", method, split.path, status, (time.perf_counter() - started) * 1000)

    def _answer(self, method: str, path: str, query: str) -> tuple[int, list[tuple[str, str]], bytes]:
        # Route and key first, as API Gateway does: a caller without a key never gets its body read (the
        # connection closes after the answer instead).
        found = find_route(method, path, self.server.routes)
        if found is None:
            self.close_connection = self.close_connection or self._has_body()
            allowed = allowed_methods(path, self.server.routes)
            if allowed:
                return gateway.method_not_allowed(method, path, allowed)
            return gateway.no_route(method, path)
        route, raw_parameters = found
        # API Gateway hands functions URL-decoded path parameters (`/scrape/jobs/a%20b` -> `a b`).
        path_parameters = {name: unquote(value) for name, value in raw_parameters.items()}
        if route.api_key_required and not hmac.compare_digest(
            (self.headers.get("x-api-key") or "").encode("utf-8"), self.server.api_key.encode("utf-8")
        ):
            self.close_connection = self.close_connection or self._has_body()
            return gateway.invalid_api_key()
        body = self._read_body()
        if body is None:
            return gateway.request_too_large()
        catalog = self.server.catalog
        if route.target.function == CATALOG_GATED_FUNCTION and not (catalog.settled.is_set() and catalog.serves_ideas):
            return gateway.catalog_loading(catalog.error if catalog.settled.is_set() else None)
        host = self.headers.get("Host") or self.server.url.split("//", 1)[1]
        event = rest_event(
            method,
            path,
            body=body,
            headers=list(self.headers.items()),
            query=query,
            resource=route.path,
            path_parameters=path_parameters,
            api_key_required=route.api_key_required,
            source_ip=self.client_address[0],
            host=host,
        )
        try:
            status, headers, data = decode_response(self.server.registry.invoke(route.target, event))
        except BadLambdaResponseError:
            logger.exception("%s returned a malformed proxy response", route.target.module)
            return gateway.integration_failure()
        except Exception:
            logger.exception("%s failed", route.target.module)
            return gateway.integration_failure()
        headers.append(("x-amzn-RequestId", event["requestContext"]["requestId"]))
        if route.path == HEALTH_PATH and status == HTTPStatus.OK:
            data = _with_catalog(data, catalog)
        return status, headers, data


def _with_catalog(data: bytes, catalog: CatalogStatus) -> bytes:
    """``GET /health``'s answer with the local catalog's state (the function knows nothing of the local seed)."""
    body = json.loads(data)
    body["catalog"] = catalog.as_dict()
    return json.dumps(body).encode("utf-8")


def _use_serving_encoder_for_the_catalog() -> None:
    """The worker runs in this process, beside the model: its catalog source ranks stored videos by meaning."""

    def load() -> TopicEncoder:
        from miles_core.inference import load_predictor

        return load_predictor()

    use_topic_encoder(load)


@contextmanager
def _environment(values: dict[str, str], defaults: dict[str, str]) -> Iterator[None]:
    """Set ``values`` (and ``defaults`` where unset) for the handlers; restore on exit."""
    saved = {name: os.environ.get(name) for name in (*values, *defaults)}
    os.environ.update(values)
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous


@dataclass
class LocalStack:
    """moto on loopback + the table + background workers + the HTTP API, started together."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    api_key: str = ""
    table_name: str = DEFAULT_TABLE_NAME
    region: str = "us-east-1"
    routes: tuple[Route, ...] = ROUTES
    preload: tuple[str, ...] = ("predict",)
    """Functions whose handlers load at start (the predict model), so their errors show at once."""
    catalog: bool = False
    """Seed the table with the benchmark's real videos (``infra/localstack/catalog.py``; ``make run`` does)."""
    server: LocalApiServer | None = field(default=None, init=False)
    _exit: ExitStack = field(default_factory=ExitStack, init=False)

    @classmethod
    def from_env(cls, port: int | None = None, *, catalog: bool = True) -> LocalStack:
        """Settings from ``PORT``, ``MILES_API_KEY`` (else a generated key) and ``MILES_TABLE_NAME``."""
        return cls(
            port=env_int("PORT", DEFAULT_PORT) if port is None else port,
            api_key=env_str("MILES_API_KEY") or secrets.token_urlsafe(24),
            table_name=env_str("MILES_TABLE_NAME", DEFAULT_TABLE_NAME) or DEFAULT_TABLE_NAME,
            catalog=catalog,
        )

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("local stack not started")
        return self.server.url

    def start(self) -> LocalStack:
        """Start everything; the HTTP server runs in a background thread. Stops what started on failure."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        import boto3

        from infra.localstack.moto import MotoServer
        from infra.localstack.workers import LocalStackContext, start_background_workers
        from miles_core.store.schema import create_table

        if not self.api_key:
            self.api_key = secrets.token_urlsafe(24)
        moto = MotoServer.start()
        self._exit.callback(moto.stop)
        environment = _environment(
            {"AWS_ENDPOINT_URL": moto.endpoint_url, "MILES_TABLE_NAME": self.table_name},
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "POWERTOOLS_METRICS_NAMESPACE": "MilesLocal",
                "POWERTOOLS_METRICS_DISABLED": "true",
                # The template's chain; offline the catalog (the seeded videos) is the one that answers.
                "MILES_SCRAPE_SOURCES": "youtube_api,ytdlp,catalog",
            },
        )
        self._exit.enter_context(environment)
        _use_serving_encoder_for_the_catalog()
        self._exit.callback(lambda: use_topic_encoder(None))
        create_table(boto3.client("dynamodb", endpoint_url=moto.endpoint_url, region_name=self.region), self.table_name)
        context = LocalStackContext(endpoint_url=moto.endpoint_url, table_name=self.table_name, region=self.region)
        self.server = LocalApiServer((self.host, self.port), self.api_key, self.routes)
        self._exit.callback(self.server.server_close)
        if self.catalog:
            # Workers start once the seed's day one is written, so the scorer does not compete with
            # the seed for moto; the queue exists at once.
            from infra.localstack.catalog import start_seeding
            from infra.localstack.workers import ensure_queue
            from miles_core.store import MilesStore

            ensure_queue(boto3.client("sqs", endpoint_url=moto.endpoint_url, region_name=self.region))
            self._exit.callback(
                start_seeding(
                    MilesStore.from_env(),
                    then=lambda: start_background_workers(context),
                    status=self.server.catalog,
                )
            )
        else:
            self.server.catalog.settle(CatalogState.OFF)
            self._exit.callback(start_background_workers(context))
        for route in self.server.routes:
            if route.target.function in self.preload:
                self.server.registry.handler(route.target)
        thread = threading.Thread(target=self.server.serve_forever, name="miles-local-api", daemon=True)
        thread.start()
        self._exit.callback(self.server.shutdown)

    def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Block until the seeded catalog settles (scored, or failed; at once without a catalog); False on timeout."""
        return self.catalog_status.settled.wait(timeout)

    @property
    def catalog_status(self) -> CatalogStatus:
        """The seeded catalog's state (what ``GET /health`` reports)."""
        if self.server is None:
            raise RuntimeError("local stack not started")
        return self.server.catalog

    def stop(self) -> None:
        """Stop in reverse order of start: HTTP server, workers, environment, moto."""
        self._exit.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
