"""``python -m miles_core.localstack`` = ``miles serve`` without loading the other areas' CLI commands."""

from __future__ import annotations

import argparse
import logging
import sys

from miles_core.localstack.commands import register


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m miles_core.localstack")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", *sys.argv[1:]])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
