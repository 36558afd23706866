"""The local stack over real HTTP on an ephemeral loopback port: routes, API keys, events, 4xx."""

from __future__ import annotations

import http.client
import json
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from openapi_spec_validator import validate

from infra.localstack.catalog import CatalogState
from infra.localstack.handlers import HandlerRef
from infra.localstack.routes import ROUTES, Route, find_route, route_for
from infra.localstack.server import LocalApiServer, LocalStack
from miles_core.api import PUBLIC_PATHS
from tests.support.fake_llm import FakeLLMServer

API_KEY = "test-key-123"


class Client:
    """A keep-alive HTTP client bound to one server."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = API_KEY,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["x-api-key"] = key
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        self.connection.request(method, path, body=data, headers=all_headers)
        response = self.connection.getresponse()
        payload = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload

    def json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        status, _, payload = self.request(method, path, body, **kwargs)
        return status, json.loads(payload)


@pytest.fixture(scope="module")
def stack(predict_app: Any) -> Iterator[LocalStack]:
    """The full local stack (moto, table, workers, HTTP) with the tiny model, on a free port."""
    with LocalStack(port=0, api_key=API_KEY, table_name="miles-test") as running:
        yield running


@pytest.fixture
def client(stack: LocalStack) -> Iterator[Client]:
    c = Client(stack.url)
    yield c
    c.connection.close()


def test_public_routes_need_no_key(client):
    status, health = client.json("GET", "/health", key=None)
    assert status == 200
    assert health["model_version"] == "tiny-test"
    assert health["catalog"]["state"] == "off"  # started without a catalog: nothing seeded, not ready
    assert health["catalog"]["ready"] is False
    status, document = client.json("GET", "/openapi.json", key=None)
    assert status == 200
    validate(document)
    status, headers, page = client.request("GET", "/docs", key=None)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"SwaggerUIBundle" in page


def test_docs_gzip_is_decoded_from_base64(client):
    status, headers, page = client.request("GET", "/docs", key=None, headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert page[:2] == b"\x1f\x8b"  # real gzip bytes on the wire, not base64 text


@pytest.mark.parametrize(("method", "path"), [(r.method, r.path) for r in ROUTES if r.api_key_required])
@pytest.mark.parametrize("key", [None, "wrong"])
def test_protected_routes_reject_missing_or_wrong_key(client, method, path, key):
    status, headers, body = client.request(method, path.replace("{job_id}", "j1"), {}, key=key)
    assert status == 403
    answer = json.loads(body)
    assert answer["message"] == "Missing or invalid x-api-key header"
    assert [e["field"] for e in answer["errors"]] == ["x-api-key"]
    assert answer["request_id"]
    assert headers["x-amzn-errortype"] == "ForbiddenException"


def test_recommendations_use_the_openai_convention_through_the_stack(client, monkeypatch):
    """``make run`` hands ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` to the recommend handler: the LLM answers."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    with FakeLLMServer("good") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        status, answer = client.json("POST", "/recommendations", {"topic": "stack llm", "vibe": "hype", "count": 2})
    assert status == 200, answer
    assert answer["meta"]["generator"] == "llm"
    assert len(server.requests) == 1
    monkeypatch.delenv("OPENAI_API_KEY")
    status, answer = client.json("POST", "/recommendations", {"topic": "stack no llm", "vibe": "hype", "count": 2})
    assert (status, answer["meta"]["generator"], answer["meta"]["generator_reason"]) == (200, "fallback", "no_api_key")


def test_predict_routes_over_http(client):
    status, headers, body = client.request("POST", "/predict", {"title": "My cat learns to skateboard"})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["regime"] == "pre_publish"
    assert headers["x-amzn-requestid"]
    items = [{"title": "a"}, {"title": "b", "published_at": "2026-01-01T00:00:00Z", "view_count": 10}]
    status, batch = client.json("POST", "/predict/batch", {"items": items})
    assert status == 200
    assert [i["regime"] for i in batch["items"]] == ["pre_publish", "post_publish"]
    status, card = client.json("GET", "/model")
    assert status == 200
    assert card["model_version"] == "tiny-test"


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "field"),
    [
        (b'{"title": ""}', "application/json", 422, "title"),
        (b'{"title": "x", "like_count": 5}', "application/json", 422, "like_count"),
        (b'{"title": "x", "extra": 1}', "application/json", 422, "extra"),
        (b"{oops", "application/json", 400, "body"),
        (b'{"title": "x"}', "application/x-www-form-urlencoded", 415, "body"),
        (b"\xff\xfe\x00garbage", "application/json", 400, "body"),
        (json.dumps({"title": "x", "description": "d" * 700_000}).encode(), "application/json", 413, "body"),
    ],
    ids=["empty-title", "likes-without-views", "unknown-field", "malformed", "form", "binary", "too-large"],
)
def test_bad_input_over_http(client, raw, content_type, status, field):
    got, _, body = client.request("POST", "/predict", raw=raw, headers={"Content-Type": content_type})
    answer = json.loads(body)
    assert got == status, answer
    assert field in {e["field"] for e in answer["errors"]}


def test_payload_over_api_gateway_limit(client):
    status, _, body = client.request("POST", "/predict", raw=b"x" * (10 * 1024 * 1024 + 1))
    assert status == 413
    answer = json.loads(body)
    assert answer["message"] == "Request body too large"
    assert [e["type"] for e in answer["errors"]] == ["body_too_large"]


def test_unknown_route_is_404_in_the_error_shape(client):
    status, _, body = client.request("GET", "/nope")
    assert status == 404
    assert json.loads(body)["message"] == "No route for GET /nope"
    assert set(json.loads(body)) == {"message", "errors", "request_id"}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/predict", "POST"),
        ("GET", "/predict", "POST"),
        ("DELETE", "/model", "GET"),
        ("PUT", "/health", "GET"),
    ],
)
def test_unknown_method_on_a_known_path_is_405_json(client, method, path, allow):
    status, headers, body = client.request(method, path)
    assert status == 405
    assert headers["allow"] == allow
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["message"] == f"Method {method} is not allowed on {path}"
    assert answer["errors"] == []


def test_table_exists_in_the_embedded_aws(stack):
    import os

    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    assert client.describe_table(TableName="miles-test")["Table"]["TableStatus"] == "ACTIVE"


ECHO_HANDLER = textwrap.dedent(
    """
    import json

    def handler(event, context):
        if event["path"] == "/boom":
            raise RuntimeError("boom")
        if event["path"] == "/bad":
            return {"body": "no status"}
        payload = {"event": event, "remaining_ms": context.get_remaining_time_in_millis(),
                   "function_name": context.function_name}
        return {"statusCode": 201, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "headers": {"Content-Type": "application/json"}, "body": json.dumps(payload)}
    """
)


@pytest.fixture(scope="module")
def echo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The HTTP front alone, routing to a handler that echoes the event it receives."""
    root: Path = tmp_path_factory.mktemp("functions")
    (root / "echo").mkdir()
    (root / "echo" / "app.py").write_text(ECHO_HANDLER)
    echo = HandlerRef("echo", "app.handler", functions_dir=root)
    routes = (
        Route("POST", "/things/{thing_id}", echo),
        Route("GET", "/open", echo, api_key_required=False),
        Route("GET", "/boom", echo),
        Route("GET", "/bad", echo),
        Route("GET", "/missing", HandlerRef("ghost", functions_dir=root)),
    )
    server = LocalApiServer(("127.0.0.1", 0), API_KEY, routes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()


def _raw_exchange(url: str, head: bytes, body_start: bytes) -> bytes:
    """Send a request's head and the start of a body that never ends; what the server answers within 10 s."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as sock:
        sock.sendall(head + body_start)
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


def test_a_keyless_body_is_refused_before_it_is_read(echo_server):
    """API Gateway checks the key before it takes a body: a caller without one cannot make the server read
    (or wait for) its chunked body."""
    head = b"POST /things/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = _raw_exchange(echo_server, head, b"10\r\n0123456789abcdef\r\n")
    assert answer.startswith(b"HTTP/1.0 403") or answer.startswith(b"HTTP/1.1 403"), answer[:80]


def test_a_chunk_size_line_is_bounded(echo_server):
    """A chunk-size line that never ends is malformed (400) once it passes the bound, not buffered forever."""
    head = f"POST /things/1 HTTP/1.1\r\nHost: x\r\nx-api-key: {API_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = _raw_exchange(echo_server, head.encode(), b"1" * 64 * 1024)
    assert answer.split(b"\r\n", 1)[0].endswith(b"400 Bad Request"), answer[:80]


def test_event_is_an_api_gateway_rest_proxy_event(echo_server):
    client = Client(echo_server)
    status, headers, body = client.request(
        "POST", "/things/t-42?a=1&a=2&b=x", {"hello": "world"}, headers={"User-Agent": "pytest", "X-Multi": "v"}
    )
    assert status == 201
    payload = json.loads(body)
    event = payload["event"]
    assert event["resource"] == "/things/{thing_id}"
    assert event["path"] == "/things/t-42"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"thing_id": "t-42"}
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["headers"]["X-Multi"] == "v"
    assert event["multiValueHeaders"]["User-Agent"] == ["pytest"]
    assert json.loads(event["body"]) == {"hello": "world"}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"]
    assert context["resourcePath"] == "/things/{thing_id}"
    assert context["stage"] == "local"
    assert context["identity"]["apiKey"] == API_KEY
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert 0 < payload["remaining_ms"] <= 29_000
    assert payload["function_name"] == "echo"
    assert headers["set-cookie"] in ("a=1, b=2", "b=2")  # both sent; http.client joins duplicates


def test_binary_body_is_base64_and_no_query_is_none(echo_server):
    client = Client(echo_server)
    raw = bytes(range(256))
    _, _, body = client.request("POST", "/things/x", raw=raw, headers={"Content-Type": "application/octet-stream"})
    event = json.loads(body)["event"]
    assert event["isBase64Encoded"] is True
    import base64

    assert base64.b64decode(event["body"]) == raw
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_public_echo_route_and_handler_failures(echo_server):
    client = Client(echo_server)
    status, _, body = client.request("GET", "/open", key=None)
    assert status == 201
    assert json.loads(body)["event"]["pathParameters"] is None
    for path in ("/boom", "/bad", "/missing"):
        status, _, body = client.request("GET", path)
        assert status == 502, path
        assert json.loads(body)["message"] == "Internal server error"


def test_route_table_matches_architecture():
    job_status = route_for("GET", "/scrape/jobs/{job_id}")
    assert find_route("GET", "/scrape/jobs/abc-1") == (job_status, {"job_id": "abc-1"})
    assert job_status.target.handler_file.name == "app.py"
    assert job_status.target.function == "scrape"
    assert find_route("GET", "/scrape/jobs/abc/extra") is None
    assert {(r.method, r.path) for r in ROUTES if not r.api_key_required} == {
        ("GET", "/health"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/"),
        ("GET", "/static/{name}"),
    }
    # The creator page's routes are public too, but not API routes (not in the OpenAPI document).
    assert {r.path for r in ROUTES if not r.api_key_required} == PUBLIC_PATHS | {"/", "/static/{name}"}
    assert all(r.target.handler_file.is_file() for r in ROUTES)
    with pytest.raises(KeyError):
        route_for("GET", "/scrape/jobs/abc-1")  # a path, not the route's resource template


OK_HANDLER = textwrap.dedent(
    """
    import json

    def handler(event, context):
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"status": "ok", "path": event["path"]})}
    """
)


def test_recommendations_wait_for_the_catalog_and_health_says_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ideas only from a seeded store: 503 while seeding and scoring, and for good when seeding failed."""
    for name in ("recommend", "predict"):  # modules of their own: the real apps may be loaded in this process
        (tmp_path / name).mkdir()
        (tmp_path / name / "gate_probe.py").write_text(OK_HANDLER)
    recommend, predict = (HandlerRef(name, "gate_probe.handler", tmp_path) for name in ("recommend", "predict"))
    routes = (Route("POST", "/recommendations", recommend), Route("GET", "/health", predict, api_key_required=False))
    server = LocalApiServer(("127.0.0.1", 0), API_KEY, routes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = Client(server.url)
    try:
        status, health = client.json("GET", "/health", key=None)
        assert (status, health["status"]) == (200, "ok")
        assert health["catalog"] == {
            "ready": False,
            "state": "seeding",
            "topics": 0,
            "videos": 0,
            "scored": 0,
            "error": None,
        }
        status, answer = client.json("POST", "/recommendations", {})
        assert status == 503
        assert "catalog still loading" in answer["message"]
        server.catalog.videos, server.catalog.topics, server.catalog.scored = 46, 16, 46
        server.catalog.settle(CatalogState.READY)
        assert client.json("GET", "/health", key=None)[1]["catalog"] == {
            "ready": True,
            "state": "ready",
            "topics": 16,
            "videos": 46,
            "scored": 46,
            "error": None,
        }
        assert client.json("POST", "/recommendations", {}) == (200, {"status": "ok", "path": "/recommendations"})
        server.catalog.settle(CatalogState.FAILED, "seeding failed: OSError: disk full")
        status, answer = client.json("POST", "/recommendations", {})
        assert status == 503
        assert "could not be seeded (seeding failed: OSError: disk full)" in answer["message"]
        assert client.json("GET", "/health", key=None)[1]["catalog"]["state"] == "failed"
    finally:
        client.connection.close()
        server.shutdown()
        server.server_close()
