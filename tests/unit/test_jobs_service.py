"""The jobs service over in-memory repositories: de-duplicated queueing, claiming in order,
progress and cancellation, reaping, roles; the SQL is tested in tests/integration."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops.domain.clock import timestamp, utc
from mlops.services import jobs
from mlops.services.identity import PermissionDenied, User
from mlops.services.jobs import JobCancelled, JobError
from tests.fakes import MemoryRepositories

ADMIN = User("ada", frozenset({"admin"}))


@pytest.fixture
def repos():
    return MemoryRepositories()


def test_enqueue_queues_once_per_trigger_under_the_jobs_lock(repos):
    first = jobs.enqueue(repos, "build", {"trigger": "ci"}, ADMIN)
    assert jobs.enqueue(repos, "build", {"trigger": "ci"}, ADMIN) == first
    assert jobs.enqueue(repos, "build", {"trigger": "drift"}, ADMIN) != first
    assert jobs.enqueue(repos, "build", {"trigger": "x", "n": 1}, ADMIN, dedupe_on=["n"]) != first
    assert repos.locks_taken[:1] == [("jobs",)]
    merged = [e.details["merged"] for e in repos.audit.events(action="job.enqueue")]
    assert sorted(merged) == [False, False, False, True]
    job = jobs.get(repos, first)
    assert (job.status, job.message, job.params) == ("queued", "queued by ada", {"trigger": "ci"})


def test_enqueue_needs_admin_or_system_and_a_kind(repos):
    with pytest.raises(PermissionDenied):
        jobs.enqueue(repos, "build", {}, User("rita", frozenset({"reviewer"})))
    with pytest.raises(JobError, match="non-empty"):
        jobs.enqueue(repos, "  ", {}, ADMIN)


def test_jobs_queued_in_one_millisecond_are_claimed_in_order(repos):
    ids = [jobs.enqueue(repos, "build", {"n": i}, ADMIN) for i in range(5)]
    claimed = [jobs.claim_next(repos, "w").job_id for _ in ids]
    assert claimed == ids and jobs.claim_next(repos, "w") is None


def test_claim_filters_by_kind_and_a_claimed_job_is_not_claimed_again(repos):
    build = jobs.enqueue(repos, "build", {}, ADMIN)
    other = jobs.enqueue(repos, "skills-update", {}, ADMIN)
    job = jobs.claim_next(repos, "w1", kinds=["skills-update"])
    assert (job.job_id, job.status, job.worker) == (other, "running", "w1")
    assert jobs.claim_next(repos, "w2", kinds=["skills-update"]) is None
    assert jobs.claim_next(repos, "w2").job_id == build


def test_progress_finish_and_fail_only_change_running_jobs(repos):
    job_id = jobs.enqueue(repos, "build", {}, ADMIN)
    assert jobs.finish(repos, job_id, {"ok": True}) is False  # still queued
    jobs.claim_next(repos, "w")
    jobs.report_progress(repos, job_id, 0.5, "half")
    assert (jobs.get(repos, job_id).progress, jobs.get(repos, job_id).message) == (0.5, "half")
    assert jobs.finish(repos, job_id, {"ok": True}) is True
    assert jobs.get(repos, job_id).result == {"ok": True}
    assert jobs.fail(repos, job_id, "late") is False
    with pytest.raises(JobCancelled, match="succeeded"):
        jobs.report_progress(repos, job_id, 0.9)


@pytest.mark.parametrize("fraction", [-0.01, 1.01, True, "0.5"])
def test_progress_outside_0_to_1_is_refused(repos, fraction):
    with pytest.raises(JobError, match="between 0 and 1"):
        jobs.report_progress(repos, "any", fraction)


def test_cancel_is_audited_and_refused_for_finished_or_unknown_jobs(repos):
    job_id = jobs.enqueue(repos, "build", {}, ADMIN)
    assert jobs.cancel(repos, ADMIN, job_id).status == "cancelled"
    assert repos.audit.events(action="job.cancel")[0].details == {"was": "queued"}
    with pytest.raises(JobError, match="already cancelled"):
        jobs.cancel(repos, ADMIN, job_id)
    with pytest.raises(JobError, match="no job"):
        jobs.cancel(repos, ADMIN, "nope")
    with pytest.raises(PermissionDenied):
        jobs.cancel(repos, User("sam", frozenset({"stakeholder"})), job_id)


def test_reap_fails_only_jobs_whose_heartbeat_is_older_than_the_limit(repos):
    lost = jobs.enqueue(repos, "build", {"n": 1}, ADMIN)
    alive = jobs.enqueue(repos, "build", {"n": 2}, ADMIN)
    jobs.claim_next(repos, "dead")
    jobs.claim_next(repos, "live")
    old = repos.state.jobs[lost]
    repos.state.jobs[lost] = type(old)(
        **{**old.__dict__, "heartbeat_at": timestamp(utc() - timedelta(seconds=120))}
    )
    assert jobs.reap_stale(repos, 60) == [lost]
    assert jobs.get(repos, lost).error.startswith("worker lost: no heartbeat from worker dead")
    assert jobs.get(repos, alive).status == "running"
    with pytest.raises(JobError, match="at least 0"):
        jobs.reap_stale(repos, -1)
    with pytest.raises(JobError, match="max_attempts must be at least 1"):
        jobs.reap_stale(repos, 60, max_attempts=0)


def test_a_lost_job_is_queued_again_until_its_last_attempt_then_failed(repos):
    job_id = jobs.enqueue(repos, "build", {}, ADMIN)
    seen = []
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        assert jobs.claim_next(repos, f"w{attempt}").job_id == job_id
        old = repos.state.jobs[job_id]
        repos.state.jobs[job_id] = type(old)(
            **{**old.__dict__, "heartbeat_at": timestamp(utc() - timedelta(seconds=120))}
        )
        assert jobs.reap_stale(repos, 60) == [job_id]
        job = jobs.get(repos, job_id)
        seen.append(job.status)
        assert f"w{attempt}" in job.error
    assert seen == ["queued"] * (jobs.MAX_ATTEMPTS - 1) + ["failed"]
    assert job.worker == f"w{jobs.MAX_ATTEMPTS}" and "no retry left" in job.error
    assert jobs.claim_next(repos, "w-late") is None


def test_a_reaped_jobs_scratch_folder_is_removed(repos, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    job_id = jobs.enqueue(repos, "build", {}, ADMIN)
    jobs.claim_next(repos, "w")
    (jobs.scratch_dir(job_id) / "partial").write_text("x")
    assert (tmp_path / jobs.SCRATCH_FOLDER / job_id / "partial").is_file()
    old = repos.state.jobs[job_id]
    repos.state.jobs[job_id] = type(old)(
        **{**old.__dict__, "heartbeat_at": timestamp(utc() - timedelta(seconds=120))}
    )
    jobs.reap_stale(repos, 60)
    assert not (tmp_path / jobs.SCRATCH_FOLDER / job_id).exists()
    with pytest.raises(JobError, match="not a job id"):
        jobs.scratch_dir("../etc")


def test_list_jobs_validates_its_filters(repos):
    with pytest.raises(JobError, match="unknown job status"):
        jobs.list_jobs(repos, status="done")
    with pytest.raises(JobError, match="at least 1"):
        jobs.list_jobs(repos, limit=0)
    ids = [jobs.enqueue(repos, "build", {"n": i}, ADMIN) for i in range(3)]
    assert [j.job_id for j in jobs.list_jobs(repos, status="queued", limit=2)] == ids[::-1][:2]
