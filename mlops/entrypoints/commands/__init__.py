"""Sub-commands of `python -m mlops`: one module each, with `register(subparsers)`."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_warehouse_option(parser: argparse.ArgumentParser) -> None:
    """`--warehouse URL`, which overrides the `warehouse_url` setting (see `mlops.entrypoints.cli`)."""
    parser.add_argument(
        "--warehouse",
        metavar="URL",
        dest="warehouse_url",
        default=None,
        help="warehouse URL (default: the configured one, mlops.config)",
    )


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """`--store URL`, which overrides the `store_url` setting (see `mlops.entrypoints.cli`)."""
    parser.add_argument(
        "--store",
        metavar="URL",
        dest="store_url",
        default=None,
        help="artifact store URL (file:///abs/path or s3://bucket/prefix); "
        "default: the configured store (mlops.config)",
    )


def at_least_one(what: str) -> Callable[[str], int]:
    """An argparse `type` for a whole number >= 1; a non-number is "expected `what`"."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
        return value

    return parse
