"""`python -m mlops ...`: every module in `mlops.entrypoints.commands` adds its sub-commands.

Each command module exposes `register(subparsers)`, adding parsers whose `func(args) -> int`
is called with the parsed arguments and `args.services`: the process's composition root
(`mlops.bootstrap.Bootstrap`, opened lazily, closed after the command). Options named
`warehouse_url` / `store_url` (`--warehouse URL`, `--store URL`) override those settings.
Errors print one line on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from mlops.bootstrap import Bootstrap
from mlops.entrypoints import commands

#: Command-line options (argparse `dest`s) that override the setting of the same name.
SETTING_OPTIONS = ("warehouse_url", "store_url")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered sub-command."""
    parser = argparse.ArgumentParser(prog="python -m mlops", description="SEA MLOps command line")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = build_parser().parse_args(argv)
    overrides = {name: getattr(args, name, None) for name in SETTING_OPTIONS}
    args.services = Bootstrap(overrides=overrides)
    try:
        with args.services:
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one readable line instead of a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
