"""The ``miles`` command line: one entry point, sub-commands contributed by each area.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``; heavy imports (torch,
yt-dlp, openai) happen inside the command functions, so ``miles --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "miles_core.cli.train_commands",  # train, evaluate, export
    "miles_core.cli.scrape_commands",  # scrape, export-dataset
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every area's sub-commands registered."""
    parser = argparse.ArgumentParser(prog="miles", description="Miles: short-form video growth prediction")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; each returns a process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.handler(args))
