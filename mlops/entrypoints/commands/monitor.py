"""`python -m mlops monitor [--json]`: print the current quality, usage and open alerts, and
raise the alerts that are due (safe from cron: idempotent, concurrent runs do not duplicate)."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from typing import Any

from mlops.entrypoints.commands import add_warehouse_option

DAYS = 7


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `monitor`."""
    parser = subparsers.add_parser(
        "monitor", help="check quality alerts and print quality, usage and open alerts"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_warehouse_option(parser)
    parser.add_argument(
        "--days", type=int, default=DAYS, help=f"days of quality and usage to show (default {DAYS})"
    )
    parser.set_defaults(func=run)


def collect(warehouse: Any, settings: Any, days: int = DAYS) -> dict[str, Any]:
    """Raise due alerts, then gather the state: quality per day, usage, open alerts, resources."""
    from mlops.adapters.system import process_resources
    from mlops.domain.clock import day_of, utc
    from mlops.services import alerts, monitoring

    new_alerts = alerts.check_alerts(warehouse, settings)
    today = utc()
    start = day_of(today - timedelta(days=days - 1))
    end = day_of(today)
    return {
        "period": {"start": start, "end": end},
        "quality": monitoring.quality_over_time(warehouse, "day", start=start, end=end),
        "versions": monitoring.version_comparison(warehouse, start=start, end=end),
        "usage": monitoring.usage(warehouse, start, end),
        "new_alerts": new_alerts,
        "open_alerts": alerts.open_alerts(warehouse),
        "process": process_resources(),
    }


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def format_report(state: dict[str, Any]) -> str:
    """The human-readable report."""
    lines = [
        f"SEA monitoring {state['period']['start']} .. {state['period']['end']}",
        "",
        "quality per model version:",
    ]
    if not state["versions"]:
        lines.append("  no reviews")
    for row in state["versions"]:
        lines.append(
            f"  {row['model_version']}: reviews={row['n_reviews']} "
            + " ".join(f"{m}={_fmt(row[m])}" for m in ("jaccard", "precision", "recall", "f1"))
        )
    total = state["usage"]["total"]
    lines += [
        "",
        f"usage: requests={total['n_requests']} errors={total['n_errors']} "
        f"error_rate={total['error_rate']:.3f}",
    ]
    for row in state["usage"]["daily"]:
        lines.append(
            f"  {row['day']} {row['model_version']} {row['stage']}: n={row['n_requests']} "
            f"p50={_fmt(row['latency_p50_ms'])}ms p95={_fmt(row['latency_p95_ms'])}ms "
            f"errors={row['n_errors']}"
        )
    lines += ["", f"new alerts: {len(state['new_alerts'])}", f"open alerts: {len(state['open_alerts'])}"]
    lines += [f"  [{a['created_at']}] {a['message']}" for a in state["open_alerts"]]
    proc = state["process"]
    lines += ["", f"process: cpu={proc['cpu_percent']:.1f}% rss={proc['rss_mb']:.0f} MiB"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Check alerts and print the state; exit 0 (errors reach the CLI's one-line handler)."""
    if args.days < 1:
        raise ValueError(f"--days must be at least 1, got {args.days}")
    state = collect(args.services.warehouse, args.services.settings, args.days)
    print(json.dumps(state, indent=2, default=str) if args.json else format_report(state))
    return 0
