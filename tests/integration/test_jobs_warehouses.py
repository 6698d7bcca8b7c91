"""The jobs service on every warehouse: SQLite and Redshift over the wire (PostgreSQL behind
pgbouncer): one job per duplicate trigger under concurrency, each job claimed once by racing
workers, reaping, cancelling."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from mlops.entrypoints.worker import Worker
from mlops.services import jobs
from mlops.services.identity import User, system_user

ADMIN = User("ada", frozenset({"admin"}))


def _run_together(n, fn):
    barrier, errors = threading.Barrier(n), []

    def run(i):
        barrier.wait()
        try:
            fn(i)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_concurrent_duplicate_triggers_make_one_job(warehouse):
    ids = []
    _run_together(
        6, lambda i: ids.append(jobs.enqueue(warehouse, "build", {"trigger": "quality"}, system_user()))
    )
    assert len(set(ids)) == 1
    assert [j.job_id for j in jobs.list_jobs(warehouse)] == ids[:1]


def test_racing_workers_claim_each_job_once(warehouse):
    ids = {jobs.enqueue(warehouse, "count", {"n": n}, ADMIN) for n in range(20)}
    claimed = []

    def work(i):
        while (job := jobs.claim_next(warehouse, f"w{i}")) is not None:
            claimed.append(job.job_id)

    _run_together(3, work)
    assert sorted(claimed) == sorted(ids)


def test_progress_finish_cancel_and_reap(warehouse):
    done, cancelled, lost = (jobs.enqueue(warehouse, "k", {"n": n}, ADMIN) for n in range(3))
    for _ in range(3):
        jobs.claim_next(warehouse, "w")
    jobs.report_progress(warehouse, done, 0.5, "half")
    assert jobs.finish(warehouse, done, {"ok": True})
    jobs.cancel(warehouse, ADMIN, cancelled)
    with pytest.raises(jobs.JobCancelled):
        jobs.report_progress(warehouse, cancelled, 0.5, "")
    old = (datetime.now(UTC) - timedelta(minutes=5)).replace(tzinfo=None)
    warehouse.execute(
        "UPDATE jobs SET heartbeat_at = ? WHERE job_id = ?", (old.isoformat(timespec="microseconds"), lost)
    )
    assert jobs.reap_stale(warehouse, 60, max_attempts=1) == [lost]  # no retry left: failed
    states = {j.job_id: (j.status, j.result) for j in jobs.list_jobs(warehouse)}
    assert states == {
        done: ("succeeded", {"ok": True}),
        cancelled: ("cancelled", None),
        lost: ("failed", None),
    }
    assert jobs.get(warehouse, lost).error.startswith("worker lost")


def test_worker_runs_a_job_end_to_end(warehouse):
    jobs.register_handler("echo", lambda job, progress, services: {"echo": job.params["text"]})
    try:
        jobs.enqueue(warehouse, "echo", {"text": "héllo"}, ADMIN)
        job = Worker(warehouse, "w1", heartbeat_s=0.1, stale_after_s=10).run_once()
    finally:
        jobs.unregister_handler("echo")
    assert (job.status, job.result) == ("succeeded", {"echo": "héllo"})
