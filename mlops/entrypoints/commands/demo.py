"""`python -m mlops demo [--home DIR] [--quick] [--benchmark PATH]`: the end-to-end story on a
new data folder (see `mlops.demo`): users, taxonomy import, builds 1.0.0 and 1.0.1, reviewer
feedback until the quality alert, the retraining build, releases and a PROD rollback. The demo
runs on its own folder's settings, not the configured ones."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from mlops.demo.inputs import DEFAULT_BENCHMARK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `demo`."""
    parser = subparsers.add_parser("demo", help="run the end-to-end MLOps story in a new, empty data folder")
    parser.add_argument(
        "--home",
        metavar="DIR",
        default=None,
        help="new or empty folder for the demo's data (default: ./.sea-demo-<timestamp>)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="shrink the training and test pairs (1,000 / 400) to finish in minutes on a CPU",
    )
    parser.add_argument(
        "--skills",
        metavar="N",
        type=int,
        default=None,
        help="use only the first N skills of the bundled ESCO taxonomy",
    )
    parser.add_argument(
        "--min-reviews",
        metavar="N",
        type=int,
        default=20,
        help="reviews needed before the quality alert may fire (default 20)",
    )
    parser.add_argument(
        "--benchmark",
        metavar="PATH",
        type=Path,
        default=DEFAULT_BENCHMARK,
        help="the reviewer's texts: a folder of *_validation_annotations.csv "
        "files or one such file (default: ../shared/data/benchmark, the "
        "team's shared folder beside the checkout)",
    )
    parser.set_defaults(func=run)


def default_home() -> Path:
    """`./.sea-demo-<UTC timestamp>`."""
    return Path.cwd() / f".sea-demo-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def run(args: argparse.Namespace) -> int:
    """Run the story, printing each step; 2 when the folder is not empty or the benchmark is
    missing."""
    from mlops.demo import DemoError, benchmark_files, check_empty, run_demo

    if args.skills is not None and args.skills < 1:
        print("demo: --skills must be at least 1")
        return 2
    home = Path(args.home) if args.home else default_home()
    try:
        files = benchmark_files(args.benchmark)
        check_empty(home)
    except DemoError as exc:
        print(f"demo: {exc}")
        return 2
    print(f"SEA demo in {home.resolve()}" + (" (quick)" if args.quick else ""), flush=True)
    report = run_demo(
        home,
        lambda step, message: print(message, flush=True),
        quick=args.quick,
        taxonomy_limit=args.skills,
        benchmark_files=files,
        min_reviews=args.min_reviews,
        max_reviews=max(200, args.min_reviews),
    )
    total = sum(report.timings.values())
    print(
        f"done in {total:.0f} s; the demo's data is in {report.home} "
        f"(SEA_HOME={report.home} python -m mlops ... to explore it; every user's password "
        f"is {report.password})"
    )
    return 0
