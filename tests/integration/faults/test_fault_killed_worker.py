"""kill -9 of real worker processes mid-job: the lost job is queued again for the next worker,
up to `jobs.MAX_ATTEMPTS` runs, then failed with the reason; each lost run's scratch folder is
removed when the job is taken back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlops.adapters.warehouse import open_warehouse
from mlops.services import audit, jobs
from mlops.services.identity import User
from tests.integration.test_worker import _wait_for

pytestmark = pytest.mark.fault

ROOT = Path(__file__).resolve().parents[3]
ADMIN = User("ada", frozenset({"admin"}))

WORKER_SCRIPT = textwrap.dedent("""
    import sys, time
    from mlops.adapters.warehouse import open_warehouse
    from mlops.entrypoints.worker import Worker
    from mlops.services import jobs

    url, log, name = sys.argv[1:4]

    def sleepy(job, progress, services):
        (jobs.scratch_dir(job.job_id) / "partial.bin").write_bytes(b"x" * 1000)
        progress(0.1, "started")
        with open(log, "a") as handle:
            handle.write(f"{name} started {job.job_id}\\n")
        time.sleep(300)
        return {}

    jobs.register_handler("sleepy", sleepy)
    Worker(open_warehouse(url), name, heartbeat_s=0.2, stale_after_s=1.0).run_once()
""")


def test_a_job_of_killed_workers_is_retried_then_failed_and_cleaned_up(tmp_path):
    url = f"sqlite:///{tmp_path / 'sea.db'}"
    warehouse = open_warehouse(url)
    warehouse.init_schema()
    script, log, temp = tmp_path / "worker.py", tmp_path / "worker.log", tmp_path / "tmp"
    script.write_text(WORKER_SCRIPT)
    temp.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SEA_HOME": str(tmp_path / "home"),
        "SEA_WAREHOUSE_URL": url,
        "HF_HUB_OFFLINE": "1",
        "TMPDIR": str(temp),
    }
    job_id = jobs.enqueue(warehouse, "sleepy", {}, ADMIN)
    scratch = temp / jobs.SCRATCH_FOLDER / job_id
    try:
        for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
            name = f"doomed-{attempt}"
            process = subprocess.Popen(
                [sys.executable, str(script), url, str(log), name],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_for(
                    lambda: log.exists() and f"{name} started" in log.read_text(),
                    f"attempt {attempt} to start",
                )  # it reaped the previous run first
                assert (scratch / "partial.bin").is_file()
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
            job = jobs.get(warehouse, job_id)
            assert (job.status, job.worker) == ("running", name)
            time.sleep(1.5)  # the dead worker's heartbeat is now older than stale_after_s
        result = subprocess.run(
            [sys.executable, "-m", "mlops", "worker", "--once", "--stale-after", "1", "--heartbeat", "0.5"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "no queued job" in result.stdout
        job = jobs.get(warehouse, job_id)
        assert job.status == "failed" and job.finished_at
        assert job.error.startswith("worker lost") and f"doomed-{jobs.MAX_ATTEMPTS}" in job.error
        assert f"attempt {jobs.MAX_ATTEMPTS} of {jobs.MAX_ATTEMPTS}" in job.error
        reaps = audit.events(warehouse, action=jobs.REAP_ACTION)
        assert sorted(e["details"]["outcome"] for e in reaps) == ["failed"] + ["retried"] * (
            jobs.MAX_ATTEMPTS - 1
        )
        assert not scratch.exists()
    finally:
        warehouse.close()
