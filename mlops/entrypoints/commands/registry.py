"""`python -m mlops registry list|show VERSION|repair [--dry-run]`: read the model registry
(logs.json), or rebuild a lost or corrupt one from the store's version folders (an authenticated
admin, audited)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from mlops.domain.registry_records import RegistryEntry, StagePointers
from mlops.entrypoints.actor import add_actor_options, authenticate_actor
from mlops.entrypoints.commands import add_store_option
from mlops.services import audit
from mlops.services.identity import require_role
from mlops.services.registry import LOGS_KEY, Registry

if TYPE_CHECKING:
    from mlops.services import registry_repair

#: Metrics shown by `registry list`, in this order, when a record has them.
PRIMARY_METRICS = ("cosine_accuracy", "cosine_f1")
_COLUMNS = ("version", "stages", "status", "trigger", "metrics", "data", "timestamp")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `registry list`, `registry show VERSION` and `registry repair [--dry-run]`."""
    common = argparse.ArgumentParser(add_help=False)
    add_store_option(common)
    parser = subparsers.add_parser("registry", help="read the model registry (logs.json)")
    actions = parser.add_subparsers(dest="registry_command", required=True)
    listing = actions.add_parser("list", parents=[common], help="one line per registered version")
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", parents=[common], help="one version's record as JSON")
    show.add_argument("version", help="a registered version X.Y.Z")
    show.set_defaults(func=run_show)
    repair = actions.add_parser(
        "repair",
        parents=[common],
        help="rebuild a missing or corrupt logs.json from the store's version folders",
    )
    repair.add_argument(
        "--dry-run", action="store_true", help="print the document it would write; write nothing"
    )
    add_actor_options(repair, "the admin who repairs (not needed for --dry-run)")
    repair.set_defaults(func=run_repair)


def _registry(args: argparse.Namespace) -> Registry:
    """The registry on `--store`, else on the configured store (`mlops.config`)."""
    return args.services.registry


def _metrics(entry: RegistryEntry) -> str:
    metrics = entry.metrics
    names = [m for m in PRIMARY_METRICS if m in metrics] or list(metrics)[:2]
    parts = []
    for name in names:
        value = metrics[name]
        parts.append(f"{name}={value:.3f}" if isinstance(value, (int, float)) else f"{name}={value}")
    return " ".join(parts)


def _timestamp(entry: RegistryEntry) -> str:
    parsed = entry.timestamp
    if parsed is None:
        value = entry.record.get("timestamp")
        return "" if value is None else str(value)
    return parsed.isoformat(timespec="seconds")


def format_table(pointers: StagePointers, entries: list[RegistryEntry]) -> str:
    """The `registry list` table: version, stages, status, trigger, metrics, data version,
    timestamp (ISO-8601 UTC; old `dd/mm/YYYY/HHMM` stamps are converted for display)."""
    rows = [_COLUMNS]
    for entry in entries:
        stages = pointers.stages_of(entry.version)
        rows.append(
            (
                entry.version,
                ",".join(stages) or "-",
                str(entry.record.get("status", "")),
                str(entry.record.get("trigger", "")),
                _metrics(entry),
                str(entry.record.get("data_version", "")),
                _timestamp(entry),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def run_list(args: argparse.Namespace) -> int:
    """Print every registered version, oldest first."""
    registry = _registry(args)
    document = registry.read()
    entries = registry.entries()
    if not entries:
        print(f"no versions registered in {registry.store.url}/{registry.key}")
        return 0
    print(format_table(registry.pointers(document), entries))
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print one version's record as JSON (with the stages pointing at it)."""
    registry = _registry(args)
    document = registry.read()
    entry = registry.entry(args.version)
    shown = {**entry.to_dict(), "stages": registry.pointers(document).stages_of(entry.version)}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


def _describe(plan: registry_repair.RepairPlan) -> list[str]:
    lines = [f"registry document: {plan.state}: {plan.problem}"]
    for version in plan.versions:
        lines.append(f"  {version}: from {', '.join(plan.sources.get(version, []))}")
    lines.extend(f"note: {note}" for note in plan.notes)
    return lines


def run_repair(args: argparse.Namespace) -> int:
    """Plan the repair, print it, and write it unless `--dry-run` (or nothing needs writing)."""
    from mlops.services.registry_repair import DocumentState, apply_repair, plan_repair

    store = args.services.store
    plan = plan_repair(store)
    print("\n".join(_describe(plan)))
    if plan.state is DocumentState.VALID:
        print("nothing to repair")
        return 0
    if not plan.versions:
        print(
            "no version bundles in the store to rebuild it from; `python -m mlops init` creates an empty one"
        )
        return 0 if plan.state is DocumentState.MISSING else 1
    if args.dry_run:
        print(json.dumps(plan.document, indent=2, ensure_ascii=False))
        print(f"dry run: nothing written ({len(plan.versions)} versions would be registered)")
        return 0
    actor = require_role(
        authenticate_actor(args, args.services),
        "admin",
        action="repair the registry",
        source=args.services.warehouse,
    )
    backup = apply_repair(store, plan)
    audit.record(
        args.services.warehouse,
        actor.username,
        "registry.repair",
        LOGS_KEY,
        {"versions": len(plan.versions), "state": plan.state.value, "backup": backup},
    )
    print(f"wrote {LOGS_KEY} with {len(plan.versions)} versions")
    if backup:
        print(f"the corrupt document was kept as {backup}")
    return 0
