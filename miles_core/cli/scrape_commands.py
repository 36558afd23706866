"""``miles scrape`` (one scheduled scrape of every niche) and ``miles export-dataset``.

Both use the environment like the Lambda functions do (``MILES_TABLE_NAME``, ``AWS_ENDPOINT_URL``,
``MILES_NICHES``, source secrets); ``--endpoint-url`` and ``--table`` are shortcuts that set them for
this process. ``scrape`` runs the same library calls as the scheduled worker (``run_scheduled``),
not the handler, so the command works from any directory. Against the ``make run`` stack, run them
through ``python -m infra.localstack attach ...`` (``make scrape-once``, ``make export-dataset``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _apply_overrides(args: argparse.Namespace) -> None:
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    if args.table:
        os.environ["MILES_TABLE_NAME"] = args.table


def _scrape(args: argparse.Namespace) -> int:
    _apply_overrides(args)
    if args.niches:
        os.environ["MILES_NICHES"] = args.niches
    from miles_core.scraping.schedule import retryable_jobs, run_scheduled, schedule_summary
    from miles_core.scraping.sources import sources_from_env
    from miles_core.store import MilesStore, iso

    store = MilesStore.from_env()
    outcomes = run_scheduled(store, sources_from_env(store), iso(datetime.now(UTC)))
    print(json.dumps(schedule_summary(outcomes), indent=2))
    retry = retryable_jobs(outcomes)
    if retry:
        print(f"scrape finished with retryable failures: {retry}", file=sys.stderr)
    return 0 if all(outcome.status.value == "succeeded" for outcome in outcomes) else 1


def _export(args: argparse.Namespace) -> int:
    _apply_overrides(args)
    from miles_core.accuracy.outcomes import OutcomeWindow
    from miles_core.scraping.dataset_export import write_csv
    from miles_core.store import MilesStore

    window = OutcomeWindow(min_hours=args.min_hours, max_hours=args.max_hours)
    count = write_csv(args.out, MilesStore.from_env().iter_video_histories(), window, args.val_fraction)
    print(f"wrote {count} rows to {args.out}")
    return 0 if count else 1


def register(subparsers: Any) -> None:
    """Add ``scrape`` and ``export-dataset`` to the ``miles`` command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint-url", help="AWS endpoint (e.g. a local moto server)")
    common.add_argument("--table", help="DynamoDB table (default: MILES_TABLE_NAME)")

    scrape = subparsers.add_parser(
        "scrape", parents=[common], help="run the scheduled scrape once (every niche), as the worker does"
    )
    scrape.add_argument("--niches", help="comma-separated topics (default: MILES_NICHES)")
    scrape.set_defaults(handler=_scrape)

    export = subparsers.add_parser(
        "export-dataset", parents=[common], help="write Miles' own snapshots as a benchmark-schema CSV"
    )
    export.add_argument("--out", type=Path, required=True, help="CSV file to write")
    export.add_argument("--min-hours", type=float, default=18.0, help="earliest labelling snapshot after t0")
    export.add_argument("--max-hours", type=float, default=30.0, help="latest labelling snapshot after t0")
    export.add_argument(
        "--val-fraction", type=float, default=0.2, help="the latest share of rows (by t0) labelled val (default 0.2)"
    )
    export.set_defaults(handler=_export)
