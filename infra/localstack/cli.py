"""The local stack's command line: ``serve`` (what ``make run`` starts) and ``attach``.

``attach`` runs a ``miles`` command (``scrape``, ``export-dataset``) against the stack another
process is serving: it reads where that stack lives (moto endpoint, table, job queue) from the
state file the stack writes, points this process's environment at it, and hands over to
``miles_core.cli``. So the library's commands know nothing about the local stack.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.localstack.catalog import CatalogStatus

logger = logging.getLogger(__name__)


def _serve(port: int | None, catalog: bool) -> int:
    from infra.localstack.routes import ROUTES
    from infra.localstack.server import LocalStack

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with LocalStack.from_env(port=port, catalog=catalog) as stack:
        if catalog:
            print(
                f"Seeding the local catalog with benchmark videos and scoring them ({stack.url}: until then "
                "recommendations answer 503 'catalog still loading')…",
                flush=True,
            )
            while not stack.wait_until_ready(timeout=0.5):
                if stop.is_set():
                    return 0
        lines = [
            f"Miles local API on {stack.url}  (Ctrl-C to stop)",
            f"  API key (header x-api-key): {stack.api_key}",
            f"  docs: {stack.url}/docs   OpenAPI: {stack.url}/openapi.json",
            f"  ideas: {_idea_generator_line()}",
            f"  catalog: {_catalog_line(stack.catalog_status)}",
            *(
                f"  {route.method:5} {route.path:28} -> functions/{route.target.function}: {route.target.handler}"
                f"{'' if route.api_key_required else '   (no key)'}"
                for route in ROUTES
            ),
        ]
        print("\n".join(lines), flush=True)
        stop.wait()
        logger.info("stopping")
    return 0


def _catalog_line(status: CatalogStatus) -> str:
    """Whether ideas are ready, in the banner's words (``GET /health`` says the same as ``catalog``)."""
    from infra.localstack.catalog import CatalogState

    counts = f"{status.videos} videos on {status.topics} topics"
    if status.state is CatalogState.READY:
        return f"{counts}, all scored: ideas are ready (GET /health: catalog.ready true)"
    if status.state is CatalogState.PARTIAL:
        return f"{counts}, {status.scored} scored in time: ideas are ready from the scored ones"
    if status.state is CatalogState.FAILED:
        return f"NOT READY: {status.error}; recommendations answer 503 until a restart seeds it"
    return "none (--no-catalog): ideas come from what scrapes store"


def _idea_generator_line() -> str:
    """Which generator recommendations will use, from the environment the handlers inherit."""
    from miles_core.config import env_str

    if env_str("MILES_OPENAI_SECRET_ID"):
        return "LLM, key from the secret MILES_OPENAI_SECRET_ID names"
    if env_str("OPENAI_API_KEY"):
        endpoint = env_str("MILES_OPENAI_BASE_URL") or env_str("OPENAI_BASE_URL") or "the OpenAI API"
        return f"LLM at {endpoint} (OPENAI_API_KEY)"
    return "deterministic fallback (set OPENAI_API_KEY, and OPENAI_BASE_URL for another server, to use an LLM)"


def attach_environment() -> None:
    """Point this process at the running local stack (``make run``), as its handlers are pointed."""
    from infra.localstack.workers import STATE_FILE

    if not STATE_FILE.is_file():
        raise SystemExit(f"no running local stack ({STATE_FILE} missing): start it with `make run`")
    state = json.loads(STATE_FILE.read_text(encoding="utf-8"))
    os.environ["AWS_ENDPOINT_URL"] = state["endpoint_url"]
    os.environ["MILES_TABLE_NAME"] = state["table_name"]
    os.environ["MILES_SCRAPE_QUEUE_URL"] = state["queue_url"]
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def main(argv: Sequence[str] | None = None) -> int:
    """``serve`` unless another command is named first."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0].startswith("-"):
        arguments.insert(0, "serve")
    parser = argparse.ArgumentParser(prog="python -m infra.localstack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the API locally: moto on loopback + real handlers behind API Gateway-style events",
        description="Serves http://127.0.0.1:PORT (env PORT, default 8000). Every route but /health, /docs and "
        "/openapi.json needs header x-api-key: MILES_API_KEY when set, else a key printed at start.",
    )
    serve.add_argument("--port", type=int, default=None, help="override env PORT (0 = any free port)")
    serve.add_argument(
        "--no-catalog", action="store_true", help="start with an empty table (no benchmark videos seeded)"
    )
    attach = commands.add_parser("attach", help="run a `miles` command against the running stack")
    attach.add_argument("miles_arguments", nargs=argparse.REMAINDER, help="e.g. scrape --niches cats")
    args = parser.parse_args(arguments)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        return _serve(args.port, catalog=not args.no_catalog)
    attach_environment()
    from miles_core.cli import main as miles

    return miles(args.miles_arguments)
