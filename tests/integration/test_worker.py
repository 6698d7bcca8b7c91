"""The worker as real processes on one SQLite warehouse: a worker killed with SIGKILL mid-job
leaves its job queued again once reaped (retries up to the limit: tests/integration/faults);
two worker processes racing run each job exactly once; the `worker`, `jobs` CLI commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from mlops.adapters.warehouse import open_warehouse
from mlops.services import jobs
from mlops.services.identity import User

ROOT = Path(__file__).resolve().parents[2]
ADMIN = User("ada", frozenset({"admin"}))

WORKER_SCRIPT = textwrap.dedent("""
    import sys, time
    from mlops.adapters.warehouse import open_warehouse
    from mlops.entrypoints.worker import Worker
    from mlops.services import jobs

    url, log, name = sys.argv[1:4]

    def note(line):
        with open(log, "a") as handle:
            handle.write(line + "\\n")

    def sleepy(job, progress, services):
        progress(0.1, "started")
        note("started " + job.job_id)
        time.sleep(300)
        return {}

    def count(job, progress, services):
        note(job.job_id + " " + name)
        progress(0.5, "half")
        return {"n": job.params["n"], "worker": name}

    jobs.register_handler("sleepy", sleepy)
    jobs.register_handler("count", count)
    worker = Worker(open_warehouse(url), name, heartbeat_s=0.2, stale_after_s=30)
    while worker.run_once() is not None:
        pass
""")


@pytest.fixture
def env(tmp_path):
    url = f"sqlite:///{tmp_path / 'sea.db'}"
    warehouse = open_warehouse(url)
    warehouse.init_schema()
    script = tmp_path / "worker_script.py"
    script.write_text(WORKER_SCRIPT)
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SEA_HOME": str(tmp_path / "home"),
        "SEA_WAREHOUSE_URL": url,
        "HF_HUB_OFFLINE": "1",
    }
    yield {
        "url": url,
        "warehouse": warehouse,
        "script": script,
        "env": environ,
        "log": tmp_path / "worker.log",
    }
    warehouse.close()


def _spawn(env, name):
    return subprocess.Popen(
        [sys.executable, str(env["script"]), env["url"], str(env["log"]), name],
        cwd=ROOT,
        env=env["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _cli(env, *args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "mlops", *args],
        cwd=ROOT,
        env=env["env"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _wait_for(predicate, what, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def test_a_killed_worker_leaves_its_job_queued_again_after_reaping(env):
    warehouse = env["warehouse"]
    job_id = jobs.enqueue(warehouse, "sleepy", {}, ADMIN)
    process = _spawn(env, "doomed")
    try:
        _wait_for(lambda: env["log"].exists() and job_id in env["log"].read_text(), "the job to start")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    job = jobs.get(warehouse, job_id)
    assert (job.status, job.worker, job.message) == ("running", "doomed", "started")
    # Not stale yet for a generous limit; stale once the heartbeat is older than the limit.
    assert jobs.reap_stale(warehouse, 3600) == []
    time.sleep(1.5)  # the dead worker's last heartbeat is now older than --stale-after 1
    # The next worker (the CLI, which only knows its own kinds) reaps before it claims.
    result = _cli(env, "worker", "--once", "--stale-after", "1", "--heartbeat", "0.5", "--kind", "other")
    assert result.returncode == 0, result.stderr
    assert "no queued job" in result.stdout
    job = jobs.get(warehouse, job_id)
    assert (job.status, job.worker, job.started_at, job.finished_at) == ("queued", None, None, None)
    assert job.error.startswith("worker lost") and "doomed" in job.error
    assert "attempt 1 of" in job.message


def test_two_worker_processes_run_each_job_exactly_once(env):
    warehouse = env["warehouse"]
    ids = {jobs.enqueue(warehouse, "count", {"n": n}, ADMIN) for n in range(40)}
    processes = [_spawn(env, "w1"), _spawn(env, "w2")]
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
    runs = Counter(line.split()[0] for line in env["log"].read_text().splitlines())
    assert set(runs) == ids and set(runs.values()) == {1}
    finished = jobs.list_jobs(warehouse, limit=100)
    assert {j.status for j in finished} == {"succeeded"}
    assert all(j.result["worker"] == j.worker for j in finished)
    assert {j.result["n"] for j in finished} == set(range(40))


def test_cli_worker_once_fails_a_job_of_unknown_kind_with_its_error(env):
    job_id = jobs.enqueue(env["warehouse"], "no-such-kind", {"x": 1}, ADMIN)
    result = _cli(env, "worker", "--once")
    assert result.returncode == 1
    assert f"job {job_id} (no-such-kind) failed" in result.stdout
    assert "no handler registered for job kind 'no-such-kind'" in jobs.get(env["warehouse"], job_id).error


def test_worker_hands_its_bootstrap_to_every_handler(env, tmp_path):
    from mlops.bootstrap import Bootstrap
    from mlops.config import load_settings
    from mlops.entrypoints.worker import Worker

    settings = load_settings(
        env={"SEA_HOME": str(tmp_path / "home"), "SEA_WAREHOUSE_URL": env["url"]},
        secrets_path=tmp_path / "none.toml",
    )
    services = Bootstrap(settings, warehouse=env["warehouse"])
    seen = []
    jobs.register_handler("spy", lambda job, progress, given: seen.append(given) or {})
    try:
        job_id = jobs.enqueue(env["warehouse"], "spy", {}, ADMIN)
        job = Worker(services.warehouse, "w1", services=services).run_once()
    finally:
        jobs.unregister_handler("spy")
    assert (job.job_id, job.status) == (job_id, "succeeded")
    assert seen == [services]


def test_a_build_job_on_a_worker_without_services_fails_saying_so(env):
    from mlops.entrypoints.worker import Worker

    jobs.enqueue(env["warehouse"], "build", {"trigger": "manual"}, ADMIN)
    job = Worker(env["warehouse"], "w1").run_once()
    assert job.status == "failed" and "a build job runs on the worker's services" in job.error


def test_cli_worker_once_on_an_empty_queue_exits_cleanly(env):
    result = _cli(env, "worker", "--once")
    assert (result.returncode, result.stdout.strip()) == (0, "no queued job")


def test_cli_jobs_list_show_and_cancel(env):
    warehouse = env["warehouse"]
    from mlops.services import auth
    from mlops.services.identity import system_user

    for name, roles in (("ada", ["admin"]), ("rita", ["reviewer"])):
        auth.create_user(warehouse, name, "correct-horse-1", roles, actor=system_user())
    signed = ("--password-stdin",)
    job_id = jobs.enqueue(warehouse, "build", {"trigger": "code"}, ADMIN)

    listing = _cli(env, "jobs", "list")
    assert listing.returncode == 0 and job_id in listing.stdout and "queued" in listing.stdout
    shown = _cli(env, "jobs", "show", job_id)
    assert shown.returncode == 0 and '"trigger": "code"' in shown.stdout

    refused = _cli(env, "jobs", "cancel", job_id, "--user", "rita", *signed, stdin="correct-horse-1")
    assert refused.returncode == 1 and "needs role admin" in refused.stderr
    unknown = _cli(env, "jobs", "cancel", job_id, "--user", "nobody", *signed, stdin="correct-horse-1")
    assert unknown.returncode == 1 and "wrong username or password" in unknown.stderr
    no_secret = _cli(env, "jobs", "cancel", job_id, "--user", "ada")
    assert no_secret.returncode == 2 and "no password for ada" in no_secret.stderr
    assert jobs.get(warehouse, job_id).status == "queued"

    cancelled = _cli(env, "jobs", "cancel", job_id, "--user", "ada", *signed, stdin="correct-horse-1")
    assert cancelled.returncode == 0, cancelled.stderr
    assert jobs.get(warehouse, job_id).status == "cancelled"
    again = _cli(env, "jobs", "cancel", job_id, "--user", "ada", *signed, stdin="correct-horse-1")
    assert again.returncode == 1 and "already cancelled" in again.stderr


def test_cli_worker_loop_runs_queued_jobs_and_stops_on_sigterm(env):
    process = subprocess.Popen(
        [sys.executable, "-m", "mlops", "worker", "--poll", "0.1"],
        cwd=ROOT,
        env=env["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "polling every 0.1 s" in process.stdout.readline()
        job_id = jobs.enqueue(env["warehouse"], "no-such-kind", {}, ADMIN)
        _wait_for(
            lambda: jobs.get(env["warehouse"], job_id).status == "failed",
            "the looping worker to take the job",
        )
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopped after 1 job(s)" in out
