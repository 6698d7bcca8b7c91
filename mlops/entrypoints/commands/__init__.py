"""Sub-commands of `python -m mlops`: one module each, with `register(subparsers)`."""

from __future__ import annotations

import argparse


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
