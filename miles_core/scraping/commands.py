"""``miles scrape`` (one scheduled scrape, through the real worker handler) and ``miles export-dataset``.

Both use the environment like the Lambda functions do (``MILES_TABLE_NAME``, ``AWS_ENDPOINT_URL``
for the local stack's moto server, ``MILES_NICHES``, source secrets); ``--endpoint-url`` and
``--table`` are shortcuts that set them for this process, ``--local`` reads them from the running
``make run`` stack. ``scrape`` imports the handler package ``functions``: run it from the repository
root with ``python -m miles_core.cli`` (as ``make scrape-once`` does).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def _apply_overrides(args: argparse.Namespace) -> None:
    if getattr(args, "local", False):
        from miles_core.localstack.workers import STATE_FILE

        if not STATE_FILE.is_file():
            raise SystemExit(f"no running local stack ({STATE_FILE} missing): start it with `make run`")
        state = json.loads(STATE_FILE.read_text(encoding="utf-8"))
        os.environ["AWS_ENDPOINT_URL"] = state["endpoint_url"]
        os.environ["MILES_TABLE_NAME"] = state["table_name"]
        os.environ["MILES_SCRAPE_QUEUE_URL"] = state["queue_url"]
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
            os.environ.setdefault(name, value)
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    if args.table:
        os.environ["MILES_TABLE_NAME"] = args.table


def _scrape(args: argparse.Namespace) -> int:
    _apply_overrides(args)
    if args.niches:
        os.environ["MILES_NICHES"] = args.niches
    from functions.scrape import worker
    from miles_core.localstack.workers import LocalLambdaContext, schedule_event
    from miles_core.scraping.service import JobRetryableError

    try:
        summary: Any = worker.handler(schedule_event(), LocalLambdaContext("scrape-worker"))
    except JobRetryableError as error:
        print(f"scrape finished with retryable failures: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0 if all(job["status"] == "succeeded" for job in summary["jobs"]) else 1


def _export(args: argparse.Namespace) -> int:
    _apply_overrides(args)
    from miles_core.scraping.export import ExportWindow, write_csv
    from miles_core.store import MilesStore

    window = ExportWindow(min_hours=args.min_hours, max_hours=args.max_hours)
    count = write_csv(args.out, MilesStore.from_env().iter_video_histories(), window)
    print(f"wrote {count} rows to {args.out}")
    return 0 if count else 1


def register(subparsers: Any) -> None:
    """Add ``scrape`` and ``export-dataset`` to the ``miles`` command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint-url", help="AWS endpoint (the local stack's moto server)")
    common.add_argument("--table", help="DynamoDB table (default: MILES_TABLE_NAME)")
    common.add_argument("--local", action="store_true", help="use the running `make run` stack (.local/stack.json)")

    scrape = subparsers.add_parser(
        "scrape", parents=[common], help="run the scheduled scrape once (every niche), through the worker handler"
    )
    scrape.add_argument("--niches", help="comma-separated topics (default: MILES_NICHES)")
    scrape.set_defaults(handler=_scrape)

    export = subparsers.add_parser(
        "export-dataset", parents=[common], help="write Miles' own snapshots as a benchmark-schema CSV"
    )
    export.add_argument("--out", type=Path, required=True, help="CSV file to write")
    export.add_argument("--min-hours", type=float, default=18.0, help="earliest labelling snapshot after t0")
    export.add_argument("--max-hours", type=float, default=30.0, help="latest labelling snapshot after t0")
    export.set_defaults(handler=_export)
