"""`python -m mlops worker [--once] [--poll SECONDS]`: run background jobs."""

from __future__ import annotations

import argparse
import signal

from mlops.entrypoints.worker import DEFAULT_HEARTBEAT_S, DEFAULT_POLL_S, DEFAULT_STALE_AFTER_S, Worker


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `worker`."""
    parser = subparsers.add_parser("worker", help="run queued background jobs")
    parser.add_argument("--once", action="store_true", help="run at most one job, then exit")
    parser.add_argument(
        "--poll",
        type=float,
        default=DEFAULT_POLL_S,
        metavar="SECONDS",
        help=f"wait between looks at an empty queue (default {DEFAULT_POLL_S})",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=DEFAULT_HEARTBEAT_S,
        metavar="SECONDS",
        help=f"heartbeat interval while a job runs (default {DEFAULT_HEARTBEAT_S})",
    )
    parser.add_argument(
        "--stale-after",
        type=float,
        default=DEFAULT_STALE_AFTER_S,
        metavar="SECONDS",
        help="a running job without heartbeat for this long is failed as "
        f"'worker lost' (default {DEFAULT_STALE_AFTER_S})",
    )
    parser.add_argument(
        "--kind", action="append", default=None, help="only run jobs of this kind (repeatable)"
    )
    parser.set_defaults(func=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    """Run jobs (one with --once) until interrupted; SIGTERM stops after the current job."""
    if args.poll <= 0:
        raise ValueError(f"--poll must be positive, got {args.poll}")
    services = args.services
    return _run(
        args,
        Worker(
            services.warehouse,
            services=services,
            heartbeat_s=args.heartbeat,
            stale_after_s=args.stale_after,
            kinds=args.kind,
        ),
    )


def _run(args: argparse.Namespace, worker: Worker) -> int:
    if args.once:
        job = worker.run_once()
        if job is None:
            print("no queued job")
            return 0
        print(f"job {job.job_id} ({job.kind}) {job.status}" + (f": {job.error}" if job.error else ""))
        return 0 if job.status == "succeeded" else 1
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    print(f"worker {worker.worker_id} polling every {args.poll} s", flush=True)
    count = worker.run(poll_s=args.poll)
    print(f"worker {worker.worker_id} stopped after {count} job(s)")
    return 0
