"""Run a handler the way Lambda does: ``python -m awslambdaric <handler>`` against a local Runtime API.

Lambda starts the image's ENTRYPOINT + CMD in the task root; the runtime interface client (awslambdaric,
pinned in ``layers/core.txt``) imports the handler module from ``sys.path``, long-polls the Runtime API for
an event, calls the handler and posts the result back. :class:`RuntimeApi` is that API (the documented
``2018-06-01`` paths), so the real client, the real import and the real response marshalling all run.
:func:`read_only_argv` makes every file system read-only except the function's ``/tmp`` stand-in, as
Lambda's is, when the OS allows it (root with ``unshare``); otherwise the caller's ``chmod a-w`` is what
keeps the task root and model read-only.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_PREFIX = "/2018-06-01/runtime"
_SANDBOX = 'mount --bind "$0" "$0" && mount -o remount,bind,ro / && exec "$@"'
"""Keep ``$0`` (the writable dir) a mount of its own, then make the root mount read-only."""


@dataclass
class Invocation:
    """One event sent to the function and what the runtime client posted back."""

    event: Any
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    result: Any = None
    error: dict[str, Any] | None = None
    done: threading.Event = field(default_factory=threading.Event)


class RuntimeApi:
    """The Lambda Runtime API on a loopback port: ``next``, ``response``, ``error``, ``init/error``."""

    def __init__(self, function_arn: str, timeout_ms: int = 60_000) -> None:
        self.function_arn = function_arn
        self.timeout_ms = timeout_ms
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.by_id: dict[str, Invocation] = {}
        self.init_error: dict[str, Any] | None = None
        self.closed = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _answer(self, status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{_PREFIX}/invocation/next":
                    self._answer(404)
                    return
                while not api.closed.is_set():
                    try:
                        invocation = api.pending.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    api.by_id[invocation.request_id] = invocation
                    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
                    trace = f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"
                    headers = {
                        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + api.timeout_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": trace,
                    }
                    self._answer(200, json.dumps(invocation.event).encode(), headers)
                    return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.removeprefix(_PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = json.loads(body or b"{}")
                elif len(parts) == 3 and parts[0] == "invocation" and parts[1] in api.by_id:
                    invocation = api.by_id[parts[1]]
                    if parts[2] == "response":
                        invocation.result = json.loads(body) if body else None
                    else:
                        invocation.error = json.loads(body or b"{}")
                    invocation.done.set()
                else:
                    self._answer(404)
                    return
                self._answer(202, b'{"status": "OK"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        """``host:port`` for ``AWS_LAMBDA_RUNTIME_API``."""
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()


@cache
def _can_remount_read_only() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", _SANDBOX, "/tmp", "true"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def read_only_argv(argv: list[str], writable: Path) -> tuple[list[str], bool]:
    """``argv`` wrapped so that only ``writable`` can be written (and whether that could be arranged)."""
    if not _can_remount_read_only():
        return argv, False
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _SANDBOX, str(writable), *argv], True


class LambdaProcess:
    """One function's runtime process (a cold start), fed events one at a time through a :class:`RuntimeApi`."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, api: RuntimeApi, log: Path) -> None:
        self.api = api
        self.log = log
        self._log_handle = log.open("wb")
        self.process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self._log_handle, stderr=subprocess.STDOUT)

    def invoke(self, event: Any, timeout_s: float = 120.0) -> Invocation:
        """Send ``event``; return once the client posted a response or an error (or fail on init/exit)."""
        invocation = Invocation(event)
        self.api.pending.put(invocation)
        deadline = time.monotonic() + timeout_s
        while not invocation.done.wait(0.05):
            if self.api.init_error is not None:
                raise AssertionError(f"init failed: {self.api.init_error}\n{self.output()}")
            if self.process.poll() is not None:
                raise AssertionError(f"runtime exited with {self.process.returncode}\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer within {timeout_s} s\n{self.output()}")
        return invocation

    def output(self) -> str:
        """Everything the process printed so far (logs, warnings, tracebacks)."""
        self._log_handle.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> str:
        """Terminate by PID (the runtime client waits for events forever) and return the output."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()
        return self.log.read_text(encoding="utf-8", errors="replace")
