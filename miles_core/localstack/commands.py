"""``miles serve``: the local stack in the foreground (what ``make run`` starts)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add ``miles serve`` to the CLI."""
    parser = subparsers.add_parser(
        "serve",
        help="run the API locally: moto on loopback + real handlers behind API Gateway-style events",
        description="Serves http://127.0.0.1:PORT (env PORT, default 8000). Every route but /health, /docs and "
        "/openapi.json needs header x-api-key: MILES_API_KEY when set, else a key printed at start.",
    )
    parser.add_argument("--port", type=int, default=None, help="override env PORT (0 = any free port)")
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from miles_core.localstack.routes import ROUTES
    from miles_core.localstack.server import LocalStack

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with LocalStack.from_env(port=args.port) as stack:
        lines = [
            f"Miles local API on {stack.url}  (Ctrl-C to stop)",
            f"  API key (header x-api-key): {stack.api_key}",
            f"  docs: {stack.url}/docs   OpenAPI: {stack.url}/openapi.json",
            *(
                f"  {route.method:5} {route.path:28} -> functions/{route.function}"
                f"{'' if route.api_key_required else '   (no key)'}"
                for route in ROUTES
            ),
        ]
        print("\n".join(lines), flush=True)
        stop.wait()
        logger.info("stopping")
    return 0
