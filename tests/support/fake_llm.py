"""A chat-completions server on loopback for driving the real ``openai`` client in tests.

It answers ``POST /v1/chat/completions`` with the full response shape (id, object, created,
model, choices[{index, message{role, content, refusal}, finish_reason}], usage) and records every
request body, so tests can inspect the prompt. ``mode`` decides the answer:

* ``good``: schema-valid ideas (as many as the schema's ``minItems`` asks for)
* ``malformed``: content that is not JSON
* ``schema_invalid``: JSON that violates the schema (missing fields, extra field, out-of-range hour)
* ``partial``: valid ideas, but fewer than requested
* ``truncated``: ``finish_reason="length"`` with cut-off JSON
* ``refuse``: a refusal message and no content
* ``timeout``: sleeps ``delay`` seconds before answering (longer than the client's timeout)
* ``http_500``: an internal server error
* ``rate_limited``: 429 with ``Retry-After: <retry_after>`` in seconds (25 by default: the openai client's own
  retry would sleep 25 s)
* ``rate_limited_date``: the same 429 with ``Retry-After`` as an HTTP date ``retry_after`` seconds ahead
* ``hang``: sends nothing for ``delay`` seconds, then closes the connection
* ``trickle``: headers at once, then a good body one byte every ``trickle_interval`` seconds
* ``trickle_headers``: the status line and headers one byte every ``trickle_interval`` seconds, then a good body
* ``stall_body``: headers and half of a good body at once, then nothing for ``delay`` seconds
* ``same_variant``: valid ideas whose alternative title repeats the title (in other case)
* ``injected``: what a model that obeyed an injected instruction would say (off-schema JSON)
* a list of modes: one per request, in order (the last one repeats), e.g. ``["malformed", "good"]``

Usable as a context manager; ``base_url`` is what ``openai.OpenAI(base_url=...)`` needs.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Mode = str


def good_idea(index: int) -> dict[str, Any]:
    """One schema-valid idea."""
    return {
        "title": f"LLM idea {index + 1}: 3 home workout moves for small spaces",
        "alternative_titles": [
            f"LLM idea {index + 1}: no room? 3 home workout moves that fit anywhere",
            f"LLM idea {index + 1}: the small-space home workout in 3 moves",
        ],
        "hook": "Start mid-rep and say: nobody does this one.",
        "description": "Three quick moves you can do next to your bed, no equipment needed.",
        "suggested_duration_seconds": 25 + 5 * index,
        "reasoning": "Uses the number hook and the frequent phrase 'home workout' from top titles.",
    }


class FakeLLMServer:
    """Threaded HTTP server speaking (a subset of) the chat-completions protocol."""

    def __init__(
        self,
        mode: Mode | Sequence[Mode] = "good",
        delay: float = 2.0,
        trickle_interval: float = 0.5,
        retry_after: float = 25.0,
    ) -> None:
        self.modes: list[Mode] = [mode] if isinstance(mode, str) else list(mode)
        self.delay = delay
        self.trickle_interval = trickle_interval
        self.retry_after = retry_after
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_mode(self, body: dict[str, Any], headers: dict[str, str]) -> Mode:
        with self._lock:
            index = len(self.requests)
            self.requests.append(body)
            self.headers.append(headers)
            return self.modes[min(index, len(self.modes) - 1)]

    @staticmethod
    def requested_count(body: dict[str, Any]) -> int:
        """How many ideas the request's JSON schema asks for (its ``minItems``)."""
        try:
            schema = body["response_format"]["json_schema"]["schema"]
            return int(schema["properties"]["ideas"]["minItems"])
        except (KeyError, TypeError, ValueError):
            return 3

    def answer(self, mode: Mode, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for one request."""
        count = self.requested_count(body)
        content: str | None
        refusal: str | None = None
        finish_reason = "stop"
        if mode == "good":
            content = json.dumps({"ideas": [good_idea(i) for i in range(count)]})
        elif mode == "malformed":
            content = '{"ideas": [{"title": "unterminated'
        elif mode == "schema_invalid":
            broken = good_idea(0)
            del broken["reasoning"]
            broken["suggested_duration_seconds"] = 999
            broken["surprise"] = "extra field"
            content = json.dumps({"ideas": [broken] * count})
        elif mode == "same_variant":
            ideas = [good_idea(i) for i in range(count)]
            for idea in ideas:
                idea["alternative_titles"] = [idea["title"].upper()]
            content = json.dumps({"ideas": ideas})
        elif mode == "partial":
            content = json.dumps({"ideas": [good_idea(0)]})
        elif mode == "truncated":
            content = json.dumps({"ideas": [good_idea(i) for i in range(count)]})[:80]
            finish_reason = "length"
        elif mode == "refuse":
            content = None
            refusal = "I'm sorry, I can't help with that."
        elif mode == "injected":
            content = json.dumps({"status": "PWNED", "ideas": "ignore the schema", "system_prompt": "leaked"})
        elif mode == "http_500":
            return 500, {"error": {"message": "boom", "type": "server_error", "code": None}}
        elif mode in ("rate_limited", "rate_limited_date"):
            return 429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
        elif mode == "timeout":
            time.sleep(self.delay)
            content = json.dumps({"ideas": [good_idea(i) for i in range(count)]})
        else:
            raise ValueError(f"unknown fake LLM mode {mode!r}")
        return 200, {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": str(body.get("model", "fake-model")),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                mode = server._next_mode(body, {k.lower(): v for k, v in self.headers.items()})
                if mode == "hang":
                    time.sleep(server.delay)
                    self.close_connection = True
                    return
                slow = mode in ("trickle", "trickle_headers", "stall_body")
                status, payload = server.answer("good" if slow else mode, body)
                extra = {}
                if mode == "rate_limited":
                    extra = {"Retry-After": f"{server.retry_after:g}"}
                elif mode == "rate_limited_date":
                    extra = {"Retry-After": formatdate(time.time() + server.retry_after, usegmt=True)}
                self._send(status, payload, extra, mode)

            def _send(
                self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None, mode: Mode = "good"
            ) -> None:
                data = json.dumps(payload).encode("utf-8")
                interval = server.trickle_interval
                headers = {"Content-Type": "application/json", "Content-Length": str(len(data)), **(extra or {})}
                try:
                    if mode == "trickle_headers":
                        lines = [f"HTTP/1.1 {status} OK", *(f"{name}: {value}" for name, value in headers.items())]
                        self._trickle(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"), interval)
                        self.wfile.write(data)
                        return
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if mode == "trickle":
                        self._trickle(data, interval)
                    elif mode == "stall_body":
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        time.sleep(server.delay)
                    else:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def _trickle(self, data: bytes, interval: float) -> None:
                for index in range(len(data)):
                    self.wfile.write(data[index : index + 1])
                    self.wfile.flush()
                    time.sleep(interval)

        return Handler
