"""`python -m mlops init`: create (or upgrade) the warehouse schema and the artifact store layout.

Safe to run again and from two processes at once: the schema migrates under a lock, and the
store gets its registry document (`logs.json`, empty) only when it has none; an existing one is
read (a corrupt one is reported, never rewritten). Object stores need no folders: the layout's
prefixes (`finetuned_models/mlops/versions/`, `base_models/`, `prod/`) appear with their first
object.
"""
from __future__ import annotations

import argparse

REGISTRY_KEY = "logs.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `init`."""
    parser = subparsers.add_parser(
        "init", help="create the warehouse schema and the artifact store layout (idempotent)"
    )
    parser.add_argument("--warehouse", metavar="URL", default=None,
                        help="warehouse URL (default: the configured one, mlops.config)")
    parser.add_argument("--store", metavar="URL", default=None,
                        help="artifact store URL (default: the configured one)")
    parser.add_argument("--skip-store", action="store_true", help="only create the schema")
    parser.set_defaults(func=run)


def init_warehouse(url: str) -> int:
    """Create or upgrade the schema behind `url`; returns the schema version."""
    from mlops.adapters.warehouse import open_warehouse
    from mlops.adapters.warehouse.schema import current_version

    warehouse = open_warehouse(url)
    try:
        warehouse.init_schema()
        return current_version(warehouse)
    finally:
        warehouse.close()


def init_store(url: str, endpoint_url: str | None = None, region: str | None = None) -> list[str]:
    """Create the store layout; returns the keys it wrote (empty when all was there)."""
    from mlops.adapters.store import ConflictError, open_store

    store = open_store(url, endpoint_url=endpoint_url, region=region)
    written: list[str] = []
    document, _ = store.read_document(REGISTRY_KEY)  # a corrupt document raises, untouched
    if document is None:
        try:
            store.write_document(REGISTRY_KEY, {"models": {}}, expected_tag=None)
            written.append(REGISTRY_KEY)
        except ConflictError:
            pass  # another process created it first
    return written


def run(args: argparse.Namespace) -> int:
    """Initialise the configured (or given) warehouse and store."""
    from mlops.config import load_settings

    settings = load_settings()
    warehouse_url = args.warehouse or settings.warehouse_url
    version = init_warehouse(warehouse_url)
    print(f"warehouse schema version {version} ready ({warehouse_url.split('://', 1)[0]})")
    if not args.skip_store:
        store_url = args.store or settings.store_url
        written = init_store(store_url, settings.s3_endpoint_url, settings.aws_region)
        print(f"artifact store ready at {store_url} ({len(written)} new keys)")
    return 0
