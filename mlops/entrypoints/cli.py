"""`python -m mlops ...`: every module in `mlops.entrypoints.commands` adds its sub-commands.

Each command module exposes `register(subparsers)`, adding parsers whose `func(args) -> int`
is called with the parsed arguments and `args.services`: the process's composition root
(`mlops.bootstrap.Bootstrap`, opened lazily, closed after the command). Options named
`warehouse_url` / `store_url` (`--warehouse URL`, `--store URL`) override those settings.
Errors print one line on stderr and exit non-zero: 2 for bad input (an argument, stdin or a
file that is not valid UTF-8, JSON too deeply nested, an unreadable taxonomy or ground-truth
file, an invalid request), as for argparse's usage errors; 1 for anything else.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from mlops.bootstrap import Bootstrap
from mlops.entrypoints import commands
from mlops.services.batch.formats import BatchFormatError
from mlops.services.ground_truth_import import GroundTruthFileError
from sea_core.taxonomy.errors import TaxonomyError
from sea_core.text_encoding import TextEncodingError, invalid_argument
from sea_core.validation import ValidationError

#: Command-line options (argparse `dest`s) that override the setting of the same name.
SETTING_OPTIONS = ("warehouse_url", "store_url")
#: Errors that mean "the input is bad" (exit 2), also when they are the cause of another error.
BAD_INPUT = (
    UnicodeError,
    RecursionError,
    TextEncodingError,
    TaxonomyError,
    ValidationError,
    GroundTruthFileError,
    BatchFormatError,
)


def _bad_input(exc: BaseException) -> str | None:
    """The one-line message when `exc` (or its cause) is bad input, else None."""
    for error in (exc, exc.__cause__):
        if isinstance(error, RecursionError):
            return "the input is nested too deeply to parse"
        if isinstance(error, UnicodeDecodeError) and error is exc:
            byte = error.object[error.start]
            return f"the input (stdin or a file) is not valid UTF-8 (byte 0x{byte:02x} at position {error.start})"
        if isinstance(error, BAD_INPUT):
            return str(exc)
    return None


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
    argv = sys.argv[1:] if argv is None else argv
    bad = invalid_argument(argv)
    if bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    overrides = {name: getattr(args, name, None) for name in SETTING_OPTIONS}
    args.services = Bootstrap(overrides=overrides)
    try:
        with args.services:
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one readable line instead of a traceback
        message = _bad_input(exc)
        print(f"error: {message or exc}", file=sys.stderr)
        return 1 if message is None else 2
