"""`python -m mlops init`: create (or upgrade) the warehouse schema and the artifact store layout.

Safe to run again and from two processes at once: the schema migrates under a lock, and the
store gets its registry document (`logs.json`, empty) only when it has none; an existing one is
read and checked (a corrupt or malformed one is reported, never rewritten, and "ready" is not
printed), and a lost one (versions in the store, no document) is refused rather than recreated
empty. Object stores need no folders: the layout's
prefixes (`finetuned_models/mlops/versions/`, `base_models/`, `prod/`) appear with their first
object.

The first admin account is created with `python -m mlops users add NAME --role admin` (no
sign-in needed while no enabled admin exists); `init` says so while there is none.
"""

from __future__ import annotations

import argparse

from mlops.adapters.store import ArtifactStore
from mlops.adapters.warehouse.schema import current_version
from mlops.entrypoints.commands import add_store_option, add_warehouse_option
from mlops.services.first_admin import needs_first_admin
from mlops.services.registry import Registry

REGISTRY_KEY = "logs.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `init`."""
    parser = subparsers.add_parser(
        "init", help="create the warehouse schema and the artifact store layout (idempotent)"
    )
    add_warehouse_option(parser)
    add_store_option(parser)
    parser.add_argument("--skip-store", action="store_true", help="only create the schema")
    parser.set_defaults(func=run)


def init_store(store: ArtifactStore) -> list[str]:
    """Create the store layout; returns the keys it wrote (empty when all was there)."""
    return [REGISTRY_KEY] if Registry(store, REGISTRY_KEY).initialise() else []


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
