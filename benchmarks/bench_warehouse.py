"""Bulk inserts through the warehouse interface: SQLite and PostgreSQL (over pgbouncer, with
redshift_connector, exactly as in production), the same code for both.

    .venv/bin/python benchmarks/bench_warehouse.py                # 1,000,000 + 200,000 rows
    .venv/bin/python benchmarks/bench_warehouse.py --rows 100000  # prediction_skills rows; feedback = rows / 5
    .venv/bin/python benchmarks/bench_warehouse.py --only sqlite

Prints, per backend and table: rows, seconds, rows/s and the peak resident memory during the
insert (psutil, sampled every 20 ms; tracemalloc would slow the pure-Python driver ~10x), plus the
machine and the command. PostgreSQL is the test stand-in
(tests/fixtures/postgres.py: fsync off), so its numbers show client + protocol cost, not disk.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil

from mlops.adapters.warehouse import open_warehouse

PREDICTION_SKILLS = (
    "INSERT INTO prediction_skills (request_id, rank, skill_id, skill_title, skill_type, confidence, "
    "phrase, occurrence, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
FEEDBACK = (
    "INSERT INTO feedback (request_id, skill_id, decision, reviewer, reviewed_at, day, week) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def prediction_rows(n: int) -> Iterator[tuple]:
    for i in range(n):
        yield (
            f"req-{i // 10:09d}",
            i % 10,
            f"skill-{i % 5000:05d}",
            f"Skill title {i % 5000}",
            "hard" if i % 3 else "soft",
            (i % 1000) / 1000,
            f"phrase number {i}",
            1 + i % 3,
            '["tag-a", "tag-b"]',
        )


def feedback_rows(n: int) -> Iterator[tuple]:
    for i in range(n):
        yield (
            f"req-{i // 5:09d}",
            f"skill-{i % 5000:05d}",
            ("accepted", "rejected", "added")[i % 3],
            f"reviewer-{i % 17}",
            "2026-11-27T06:00:00+00:00",
            "2026-11-27",
            "2026-W48",
        )


class PeakRss:
    """The highest RSS of this process while the block runs (sampled in a thread)."""

    def __enter__(self) -> PeakRss:
        self._process = psutil.Process()
        self.start = self.peak = self._process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def run(name: str, url: str, n_predictions: int, n_feedback: int) -> None:
    warehouse = open_warehouse(url)
    warehouse.init_schema()
    for table, sql, rows, n in (
        ("prediction_skills", PREDICTION_SKILLS, prediction_rows, n_predictions),
        ("feedback", FEEDBACK, feedback_rows, n_feedback),
    ):
        with PeakRss() as memory:
            started = time.perf_counter()
            inserted = warehouse.executemany(sql, rows(n))
            seconds = time.perf_counter() - started
        assert inserted == n == warehouse.scalar(f"SELECT COUNT(*) FROM {table}")
        print(
            f"{name:<10} {table:<18} {n:>10,} rows {seconds:8.2f} s {n / seconds:>10,.0f} rows/s "
            f"peak RSS {memory.peak / 2**20:7.1f} MiB (+{(memory.peak - memory.start) / 2**20:.1f} MiB)",
            flush=True,
        )
    warehouse.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="prediction_skills rows (feedback: rows/5)"
    )
    parser.add_argument("--only", choices=("sqlite", "postgres"), default=None)
    args = parser.parse_args()
    n_feedback = max(1, args.rows // 5)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"machine: {platform.platform()}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "sqlite"):
            run("sqlite", f"sqlite:///{tmp}/bench.db", args.rows, n_feedback)
        if args.only in (None, "postgres"):
            sys.path.insert(0, str(ROOT))
            from tests.fixtures.postgres import PostgresStandIn, missing_prerequisites

            missing = missing_prerequisites()
            if missing:
                print(f"postgres: skipped, missing {'; '.join(missing)}")
                return 0
            server = PostgresStandIn()
            try:
                server.setup()
                run("postgres", server.url(server.create_database()), args.rows, n_feedback)
            finally:
                server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
