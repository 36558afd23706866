"""``make load``: a bounded loopback load against ``make run``'s stack, failing on any 5xx or lost item.

It starts the local stack exactly as ``make run`` does (``python -m infra.localstack`` on a free
loopback port, a fixed ``MILES_API_KEY``, the built model), waits until ``GET /health`` says its seeded
catalog serves ideas (a failed catalog fails the load at once, with its error), then ``--concurrency`` clients on
keep-alive connections send a fixed mix for ``--duration`` seconds (at most ``--max-requests``):
``POST /predict``, ``POST /predict/batch``, ``GET /candidates`` and ``POST /recommendations``.
Every answer is checked, not just its status: a batch must answer one result per item, a
recommendation as many ideas as asked, a prediction a probability. It prints req/s, p50/p99 per
route and the errors, and exits 1 on any 5xx, lost item or transport error (4xx are reported too).

Traffic goes only to 127.0.0.1. Scrape sources are switched off in the stack (``MILES_SCRAPE_SOURCES``
names none), so the scrape jobs a cold recommendation topic asks for fail at once instead of
reaching YouTube.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
API_KEY = "load-test-key"
BATCH_SIZE = 8
IDEAS = 3
TOPICS = ("home workouts", "cooking hacks", "tech gadgets")

Check = Callable[[Any], str | None]
"""Returns what is wrong with a 2xx answer's JSON (a lost item), or ``None``."""


def _video(n: int) -> dict[str, Any]:
    return {
        "title": f"I tried the {n % 9 + 2}-minute pasta hack everyone is talking about",
        "tags": ["cooking", "pasta", "hack"],
        "category_id": 26,
        "duration_seconds": 30 + n % 40,
        "published_at": "2026-11-20T14:00:00Z",
        "observed_at": "2026-11-20T20:00:00Z",
        "view_count": 1000 + 37 * n,
        "like_count": 50 + n,
    }


def _has_probability(body: Any) -> str | None:
    return None if isinstance(body, dict) and "viral_probability" in json.dumps(body) else "no prediction"


def _all_items(body: Any) -> str | None:
    results = body.get("results", body.get("items")) if isinstance(body, dict) else None
    count = len(results) if isinstance(results, list) else -1
    return None if count == BATCH_SIZE else f"batch of {BATCH_SIZE} answered {count} results"


def _candidate_page(body: Any) -> str | None:
    return None if isinstance(body, dict) and isinstance(body.get("items"), list) else "no items list"


def _all_ideas(body: Any) -> str | None:
    ideas = body.get("ideas") if isinstance(body, dict) else None
    count = len(ideas) if isinstance(ideas, list) else -1
    return None if count == IDEAS else f"{IDEAS} ideas asked, {count} answered"


@dataclass(frozen=True)
class Call:
    route: str
    method: str
    path: str
    body: str | None
    check: Check


def request_mix(n: int) -> Call:
    """The ``n``-th request: predict 4 : batch 2 : candidates 3 : recommendations 1."""
    slot = n % 10
    topic = TOPICS[n % len(TOPICS)]
    if slot < 4:
        return Call("POST /predict", "POST", "/predict", json.dumps(_video(n)), _has_probability)
    if slot < 6:
        items = [_video(n + i) for i in range(BATCH_SIZE)]
        return Call("POST /predict/batch", "POST", "/predict/batch", json.dumps({"items": items}), _all_items)
    if slot < 9:
        query = f"/candidates?topic={topic.replace(' ', '%20')}&limit=5"
        return Call("GET /candidates", "GET", query, None, _candidate_page)
    body = json.dumps({"topic": topic, "vibe": "educational", "count": IDEAS})
    return Call("POST /recommendations", "POST", "/recommendations", body, _all_ideas)


@dataclass
class Results:
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    server_errors: int = 0
    lost: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: Call, status: int, elapsed_ms: float, problem: str | None) -> None:
        with self.lock:
            self.latencies_ms.setdefault(call.route, []).append(elapsed_ms)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status >= 500 or status == 0:
                self.server_errors += 1
            if problem is not None:
                if 200 <= status < 300:
                    self.lost += 1
                if len(self.errors) < 20:
                    self.errors.append(f"{call.route} -> {status}: {problem}")


def _client(port: int, counter: Callable[[], int | None], deadline: float, results: Results) -> None:
    headers = {"Content-Type": "application/json", "x-api-key": API_KEY}
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    while time.monotonic() < deadline:
        n = counter()
        if n is None:
            break
        call = request_mix(n)
        started = time.perf_counter()
        try:
            connection.request(call.method, call.path, body=call.body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            results.record(call, 0, (time.perf_counter() - started) * 1000.0, f"transport: {error!r}")
            connection.close()
            connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
            continue
        elapsed = (time.perf_counter() - started) * 1000.0
        problem: str | None = None
        if 200 <= status < 300:
            try:
                problem = call.check(json.loads(raw))
            except ValueError:
                problem = "answer is not JSON"
        else:
            problem = raw[:200].decode("utf-8", "replace")
        results.record(call, status, elapsed, problem)
    connection.close()


def run_load(port: int, duration_s: float, concurrency: int, max_requests: int) -> tuple[Results, float]:
    """Drive the mix against ``127.0.0.1:port``; (results, wall seconds)."""
    results = Results()
    issued = iter(range(max_requests))
    lock = threading.Lock()

    def counter() -> int | None:
        with lock:
            return next(issued, None)

    deadline = time.monotonic() + duration_s
    started = time.monotonic()
    threads = [
        threading.Thread(target=_client, args=(port, counter, deadline, results), daemon=True)
        for _ in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration_s + 60)
    return results, time.monotonic() - started


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100.0 * (len(ordered) - 1))))
    return ordered[index]


def report(results: Results, wall_s: float) -> dict[str, Any]:
    """The summary printed (and returned): totals, req/s, p50/p99 overall and per route, errors."""
    every = [v for values in results.latencies_ms.values() for v in values]
    return {
        "requests": len(every),
        "seconds": round(wall_s, 1),
        "req_per_s": round(len(every) / wall_s, 1) if wall_s else 0.0,
        "p50_ms": round(percentile(every, 50), 1),
        "p99_ms": round(percentile(every, 99), 1),
        "routes": {
            route: {
                "requests": len(values),
                "p50_ms": round(percentile(values, 50), 1),
                "p99_ms": round(percentile(values, 99), 1),
                "mean_ms": round(statistics.fmean(values), 1),
            }
            for route, values in sorted(results.latencies_ms.items())
        },
        "statuses": {str(k): v for k, v in sorted(results.statuses.items())},
        "server_errors": results.server_errors,
        "lost_items": results.lost,
        "errors": results.errors,
    }


def _health(port: int) -> Any | None:
    """``GET /health``'s JSON body, or ``None`` while the stack does not answer it with 200."""
    try:
        probe = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
        probe.request("GET", "/health")
        response = probe.getresponse()
        status, data = response.status, response.read()
        probe.close()
    except OSError:
        return None
    return json.loads(data) if status == HTTPStatus.OK else None


def _wait_healthy(port: int, server: subprocess.Popen[Any], timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"local stack exited with {server.returncode} before it was healthy")
        if _health(port) is not None:
            return
        time.sleep(0.3)
    raise RuntimeError(f"local stack not healthy after {timeout_s:.0f} s")


def _wait_catalog_ready(port: int, server: subprocess.Popen[Any], timeout_s: float = 900.0) -> None:
    """Wait until ``GET /health``'s ``catalog`` settles on a state that serves ideas (ready, partial or off).

    Recommendations answer 503 until then; a ``failed`` catalog never serves them, so it fails the load at
    once with the catalog's ``error`` instead of waiting out ``timeout_s``.
    """
    from infra.localstack.catalog import CatalogState
    from miles_core.api.schemas.predict import HealthResponse

    deadline = time.monotonic() + timeout_s
    catalog = None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"local stack exited with {server.returncode} while its catalog loaded")
        health = _health(port)
        if health is not None:
            catalog = HealthResponse.model_validate(health).catalog
            if catalog is None:
                raise RuntimeError("GET /health reports no catalog: is this the local stack (make run)?")
            state = CatalogState(catalog.state)
            if state is CatalogState.FAILED:
                raise RuntimeError(f"local catalog failed: {catalog.error}")
            if state.serves_ideas:
                return
        time.sleep(1.0)
    where = "no answer" if catalog is None else f"{catalog.state}, {catalog.scored} of {catalog.videos} scored"
    raise RuntimeError(f"local catalog not ready after {timeout_s:.0f} s ({where})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.load", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="serving artifact (make model: build/model)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent keep-alive clients (default 4)")
    parser.add_argument("--max-requests", type=int, default=50_000, help="upper bound on requests sent")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 32 or not 0 < args.duration <= 600:
        parser.error("--concurrency must be 1..32 and --duration 0..600 s (a bounded load)")

    from infra.localstack.moto import free_port
    from infra.localstack.process import start_stack_process, stop_stack_process

    port = free_port()
    settings = {
        "PORT": str(port),
        "MILES_API_KEY": API_KEY,
        "MILES_MODEL_DIR": str(args.model_dir.resolve()),
        "MILES_SCRAPE_SOURCES": "none",  # no scrape source: nothing leaves the machine
        "MILES_OPENAI_SECRET_ID": None,  # the deterministic fallback answers recommendations
        "OPENAI_API_KEY": None,  # nor the openai convention's key (a developer's shell may set it)
        "OPENAI_BASE_URL": None,
    }
    server = start_stack_process(settings, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(port, server)
        _wait_catalog_ready(port, server)
        results, wall_s = run_load(port, args.duration, args.concurrency, args.max_requests)
    finally:
        stop_stack_process(server)
    summary = report(results, wall_s)
    print(json.dumps(summary, indent=2))
    failed = summary["server_errors"] > 0 or summary["lost_items"] > 0 or summary["requests"] == 0
    print(
        f"load: {summary['requests']} requests in {summary['seconds']} s = {summary['req_per_s']} req/s, "
        f"p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, {summary['server_errors']} server errors, "
        f"{summary['lost_items']} lost items -> {'FAIL' if failed else 'ok'}",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
