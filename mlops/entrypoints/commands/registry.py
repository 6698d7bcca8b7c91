"""`python -m mlops registry list|show VERSION`: read the model registry (logs.json)."""

from __future__ import annotations

import argparse
import json

from mlops.domain.registry_records import RegistryEntry, StagePointers
from mlops.services.registry import Registry

#: Metrics shown by `registry list`, in this order, when a record has them.
PRIMARY_METRICS = ("cosine_accuracy", "cosine_f1")
_COLUMNS = ("version", "stages", "status", "trigger", "metrics", "data", "timestamp")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `registry list` and `registry show VERSION`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="URL",
        dest="store_url",
        default=None,
        help="artifact store URL (file:///abs/path or s3://bucket/prefix); "
        "default: the configured store (mlops.config)",
    )
    parser = subparsers.add_parser("registry", help="read the model registry (logs.json)")
    actions = parser.add_subparsers(dest="registry_command", required=True)
    listing = actions.add_parser("list", parents=[common], help="one line per registered version")
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", parents=[common], help="one version's record as JSON")
    show.add_argument("version", help="a registered version X.Y.Z")
    show.set_defaults(func=run_show)


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
