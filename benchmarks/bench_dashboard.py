"""Dashboard query latency: fill a warehouse with predictions and feedback (batched executemany),
then time each monitoring query (quality per day and week, version comparison, usage, most
rejected/added skills, the alert window) and the reviewers' queue (next unreviewed) on SQLite and, when the PostgreSQL stand-in for
Redshift can start, on PostgreSQL over the wire (pgbouncer + redshift_connector).

Run: `.venv/bin/python benchmarks/bench_dashboard.py [--requests 200000] [--skills 5]
      [--submissions 50000] [--feedback 4] [--days 90] [--repeat 3] [--backends sqlite,postgres]
      [--sqlite-file PATH]`
Defaults: 200,000 requests x 5 skills = 1,000,000 prediction skill rows; 50,000 reviews x 4
decisions = 200,000 feedback rows. Full size: `--requests 1000000 --submissions 200000 --skills 1`
(the monitoring queries never read prediction_skills). One reviewed text in ten has a second
reviewer (agreement). Target: under 1 s per query. The schema's own indexes are used
(`init_schema()`), then ANALYZE.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine import machine_info

from mlops.adapters.warehouse import open_warehouse
from mlops.adapters.warehouse.base import Warehouse
from mlops.domain.clock import day_of, timestamp, week_of
from mlops.services import monitoring
from mlops.services.feedback import OLDEST, next_unreviewed

START = datetime(2026, 8, 1)
VERSIONS = ("1.0.0", "1.1.0", "1.2.0")
N_SKILLS = 5000


def _moment(i: int, n: int, days: int) -> datetime:
    return START + timedelta(seconds=int(i * days * 86400 / n))


def _version(i: int, n: int) -> str:
    return VERSIONS[(i * len(VERSIONS)) // n]


def request_rows(n: int, days: int, rng: random.Random) -> Iterator[tuple]:
    for i in range(n):
        at = _moment(i, n, days)
        chars = int(rng.lognormvariate(6, 1.0)) % 25000
        status = "error" if rng.random() < 0.01 else "ok"
        yield (
            f"r{i:08d}",
            _version(i, n),
            "prod" if i % 10 else "uat",
            timestamp(at),
            day_of(at),
            week_of(at),
            "x" * min(chars, 64),
            chars,
            rng.uniform(5, 400),
            status,
            None if status == "ok" else "boom",
            rng.uniform(0.45, 1.0),
        )


def skill_rows(n: int, per_request: int, rng: random.Random) -> Iterator[tuple]:
    for i in range(n):
        for rank in range(1, per_request + 1):
            skill = rng.randrange(N_SKILLS)
            yield (
                f"r{i:08d}",
                _version(i, n),
                rank,
                f"s{skill:05d}",
                f"skill {skill}",
                "skill",
                rng.random(),
                f"phrase {skill}",
                1,
                "[]",
                None,
            )


def feedback_rows(
    n_requests: int, n_submissions: int, per_submission: int, days: int, rng: random.Random
) -> tuple[list[tuple], list[tuple]]:
    """Reviews (one in ten texts gets a second reviewer, deciding on the same skills) and their
    decisions; each review's counts double as its prediction's score."""
    submissions, feedback = [], []
    step = max(1, n_requests // n_submissions)
    for k in range(n_submissions):
        i = k * step
        skills = [f"s{rng.randrange(N_SKILLS):05d}" for _ in range(per_submission)]
        for extra in range(2 if k % 10 == 0 else 1):
            at = _moment(i, n_requests, days) + timedelta(minutes=30 + 60 * extra)
            stamp, day, week = timestamp(at), day_of(at), week_of(at)
            reviewer = f"reviewer{(k + extra) % 30}"
            decisions = []
            for _ in range(per_submission):
                roll = rng.random()
                decisions.append("accepted" if roll < 0.5 else "rejected" if roll < 0.8 else "added")
            n_acc = decisions.count("accepted")
            n_add = decisions.count("added")
            submissions.append(
                (f"r{i:08d}", reviewer, _version(i, n_requests), stamp, day, week, 5, n_acc + n_add, n_acc)
            )
            for skill, decision in zip(skills, decisions):
                feedback.append((f"r{i:08d}", skill, decision, reviewer, stamp, day, week))
    return submissions, feedback


def fill(wh: Warehouse, args: argparse.Namespace) -> float:
    """Insert the synthetic data; returns the seconds it took."""
    rng = random.Random(7)
    began = time.perf_counter()
    wh.executemany(
        "INSERT INTO prediction_requests (request_id, model_version, stage, created_at, day, week, "
        "original_input, input_chars, latency_ms, status, error, lowest_confidence) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        request_rows(args.requests, args.days, rng),
    )
    wh.executemany(
        "INSERT INTO prediction_skills (request_id, model_version, rank, skill_id, skill_title, "
        "skill_type, confidence, phrase, occurrence, tags, proficiency_level) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        skill_rows(args.requests, args.skills, rng),
    )
    submissions, feedback = feedback_rows(args.requests, args.submissions, args.feedback, args.days, rng)
    for table, stamp in (("feedback_submissions", "submitted_at"), ("prediction_scores", "scored_at")):
        wh.executemany(
            f"INSERT INTO {table} (request_id, reviewer, model_version, {stamp}, day, week, "
            "n_predicted, n_confirmed, n_overlap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            submissions,
        )
    wh.executemany(
        "INSERT INTO feedback (request_id, skill_id, decision, reviewer, reviewed_at, day, week) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        feedback,
    )
    wh.execute("ANALYZE")
    return time.perf_counter() - began


def queries(days: int) -> dict[str, Callable[[Warehouse], Any]]:
    end = START + timedelta(days=days)
    last30 = (end - timedelta(days=30), end)
    last7 = (end - timedelta(days=7), end)
    return {
        "quality per day (all)": lambda wh: monitoring.quality_over_time(wh, "day"),
        "quality per week (all)": lambda wh: monitoring.quality_over_time(wh, "week"),
        "quality per day (30 d)": lambda wh: monitoring.quality_over_time(
            wh, "day", start=last30[0], end=last30[1]
        ),
        "version comparison (all)": lambda wh: monitoring.version_comparison(wh),
        "alert window (7 d)": lambda wh: monitoring.window_quality(
            wh, timestamp(last7[0]), timestamp(last7[1])
        ),
        "usage (30 d)": lambda wh: monitoring.usage(wh, *last30),
        "usage (all)": lambda wh: monitoring.usage(wh, START, end),
        "most rejected (all)": lambda wh: monitoring.most_rejected_skills(wh, limit=20),
        "most added (all)": lambda wh: monitoring.most_added_skills(wh, limit=20),
        "most rejected (30 d, version)": lambda wh: monitoring.most_rejected_skills(
            wh, limit=20, start=last30[0], end=last30[1], model_version=VERSIONS[-1]
        ),
        "review queue: next unreviewed": lambda wh: [next_unreviewed(wh, stage="prod")],
        "review queue: oldest first": lambda wh: [next_unreviewed(wh, stage="prod", order=OLDEST)],
        "reviewer agreement (all)": lambda wh: monitoring.reviewer_agreement(wh).reviewers,
        "reviewer agreement (30 d)": lambda wh: monitoring.reviewer_agreement(wh, *last30).reviewers,
        "reviewer activity (30 d)": lambda wh: monitoring.reviewer_activity(wh, *last30).daily,
    }


def time_queries(wh: Warehouse, days: int, repeat: int) -> dict[str, tuple[float, float, int]]:
    """(median seconds, worst seconds, result size) per query; the first run warms caches."""
    results = {}
    for name, query in queries(days).items():
        timings, size = [], 0
        for _ in range(repeat):
            began = time.perf_counter()
            out = query(wh)
            timings.append(time.perf_counter() - began)
            size = len(out["daily"]) if isinstance(out, dict) else len(out)
        results[name] = (statistics.median(timings), max(timings), size)
    return results


def report(backend: str, fill_s: float, results: dict[str, tuple[float, float, int]]) -> None:
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\n{backend}: filled in {fill_s:.1f} s; load average after: {load}")
    print(f"  {'query':<32} {'median s':>9} {'max s':>8} {'rows':>6}  target <1 s")
    for name, (median, worst, size) in results.items():
        verdict = "ok" if worst < 1.0 else "SLOW"
        print(f"  {name:<32} {median:>9.3f} {worst:>8.3f} {size:>6}  {verdict}")


def run_sqlite(args: argparse.Namespace) -> None:
    if args.sqlite_file is not None:  # fill once, reuse while it holds the requested requests
        wh = open_warehouse(f"sqlite:///{args.sqlite_file.resolve()}")
        wh.init_schema()
        have = int(wh.scalar("SELECT COUNT(*) FROM prediction_requests") or 0)
        fill_s = 0.0 if have == args.requests else fill(wh, args) if have == 0 else None
        if fill_s is None:
            raise SystemExit(
                f"{args.sqlite_file} holds {have:,} requests, not {args.requests:,}: use another file"
            )
        report(f"SQLite ({args.sqlite_file})", fill_s, time_queries(wh, args.days, args.repeat))
        wh.close()
        return
    with tempfile.TemporaryDirectory(prefix="sea-bench-") as folder:
        wh = open_warehouse(f"sqlite:///{folder}/bench.db")
        wh.init_schema()
        fill_s = fill(wh, args)
        report("SQLite", fill_s, time_queries(wh, args.days, args.repeat))
        wh.close()


def run_postgres(args: argparse.Namespace) -> None:
    from tests.fixtures.postgres import PostgresStandIn, missing_prerequisites

    missing = missing_prerequisites()
    if missing:
        print(f"\nPostgreSQL: skipped (missing {'; '.join(missing)})")
        return
    server = PostgresStandIn()
    try:
        server.setup()
        wh = open_warehouse(server.url())
        wh.init_schema()
        fill_s = fill(wh, args)
        report(
            "PostgreSQL (Redshift stand-in, via pgbouncer + redshift_connector)",
            fill_s,
            time_queries(wh, args.days, args.repeat),
        )
        wh.close()
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--skills", type=int, default=5, help="predicted skills per request")
    parser.add_argument("--submissions", type=int, default=50_000, help="reviewed requests")
    parser.add_argument("--feedback", type=int, default=4, help="decisions per review")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--sqlite-file",
        type=Path,
        default=None,
        help="SQLite file to fill once and reuse (default: a new temporary one)",
    )
    args = parser.parse_args()
    print("machine:", machine_info())
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(
        f"data: {args.requests:,} requests, {args.requests * args.skills:,} prediction skill rows, "
        f"{args.submissions:,} reviews, {args.submissions * args.feedback:,} feedback rows, "
        f"{args.days} days"
    )
    print("load average (1, 5, 15 min) before:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    for backend in args.backends.split(","):
        {"sqlite": run_sqlite, "postgres": run_postgres}[backend.strip()](args)


if __name__ == "__main__":
    main()
