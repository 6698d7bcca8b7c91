"""`python -m mlops init`: create (or upgrade) the warehouse schema and the artifact store layout.

Safe to run again and from two processes at once: the schema migrates under a lock, and the
store gets its registry document (`logs.json`, empty) only when it has none; an existing one is
read (a corrupt one is reported, never rewritten). Object stores need no folders: the layout's
prefixes (`finetuned_models/mlops/versions/`, `base_models/`, `prod/`) appear with their first
object.

The first admin account is created with `python -m mlops users add NAME --role admin` (no
sign-in needed while no enabled admin exists); `init` says so while there is none.
"""

from __future__ import annotations

import argparse

from mlops.adapters.store import ArtifactStore, ConflictError
from mlops.adapters.warehouse.schema import current_version
from mlops.services.first_admin import needs_first_admin

REGISTRY_KEY = "logs.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `init`."""
    parser = subparsers.add_parser(
        "init", help="create the warehouse schema and the artifact store layout (idempotent)"
    )
    parser.add_argument(
        "--warehouse",
        metavar="URL",
        dest="warehouse_url",
        default=None,
        help="warehouse URL (default: the configured one, mlops.config)",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        dest="store_url",
        default=None,
        help="artifact store URL (default: the configured one)",
    )
    parser.add_argument("--skip-store", action="store_true", help="only create the schema")
    parser.set_defaults(func=run)


def init_store(store: ArtifactStore) -> list[str]:
    """Create the store layout; returns the keys it wrote (empty when all was there)."""
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
    services = args.services
    version = current_version(services.warehouse)  # opening it creates or upgrades the schema
    warehouse_url = services.settings.warehouse_url
    print(f"warehouse schema version {version} ready ({warehouse_url.split('://', 1)[0]})")
    if needs_first_admin(services.warehouse):
        print("no admin account yet: create the first with `python -m mlops users add NAME --role admin`")
    if not args.skip_store:
        written = init_store(services.store)
        print(f"artifact store ready at {services.settings.store_url} ({len(written)} new keys)")
    return 0
