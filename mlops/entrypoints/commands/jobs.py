"""`python -m mlops jobs list|show ID|cancel ID`: background jobs; `cancel` by an authenticated
admin (`--user NAME` or a service token)."""

from __future__ import annotations

import argparse
import json

from mlops.entrypoints.actor import add_actor_options, authenticate_actor
from mlops.services import jobs


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `jobs list`, `jobs show ID` and `jobs cancel ID`."""
    parser = subparsers.add_parser("jobs", help="list, show or cancel background jobs")
    actions = parser.add_subparsers(dest="jobs_command", required=True)
    listing = actions.add_parser("list", help="jobs, newest first")
    listing.add_argument("--status", choices=jobs.STATUSES, default=None)
    listing.add_argument("--kind", default=None)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one job as JSON")
    show.add_argument("job_id")
    show.set_defaults(func=run_show)
    cancel = actions.add_parser("cancel", help="cancel a queued or running job (admin)")
    cancel.add_argument("job_id")
    add_actor_options(cancel, "who cancels (role admin)")
    cancel.set_defaults(func=run_cancel)


def format_jobs(rows: list[jobs.Job]) -> str:
    """One line per job: id, kind, status, progress, created, message or error."""
    lines = [("job_id", "kind", "status", "progress", "created_at", "message")]
    for job in rows:
        lines.append(
            (
                job.job_id,
                job.kind,
                job.status,
                f"{job.progress:.0%}",
                (job.created_at or "")[:19],
                job.error or job.message,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)) + "  " + line[-1] for line in lines)


def run_list(args: argparse.Namespace) -> int:
    """Print jobs, newest first."""
    rows = jobs.list_jobs(args.services.warehouse, status=args.status, kind=args.kind, limit=args.limit)
    print(format_jobs(rows) if rows else "no jobs")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print one job as JSON."""
    job = jobs.get(args.services.warehouse, args.job_id)
    if job is None:
        raise jobs.JobError(f"no job {args.job_id}")
    print(json.dumps(job.to_dict(), indent=2, ensure_ascii=False))
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel a job as the authenticated actor (role admin)."""
    job = jobs.cancel(args.services.warehouse, authenticate_actor(args, args.services), args.job_id)
    print(f"job {job.job_id} ({job.kind}) cancelled")
    return 0
