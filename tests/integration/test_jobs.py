"""Background jobs over a SQLite warehouse: queueing (with de-duplication), claiming, progress,
finishing, cancelling, reaping lost workers, and the in-process worker."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from mlops.domain.clock import timestamp
from mlops.entrypoints.worker import Worker
from mlops.services import audit, jobs
from mlops.services.identity import PermissionDenied, User, system_user
from mlops.services.jobs import JobCancelled, JobError

ADMIN = User("ada", frozenset({"admin"}))
REVIEWER = User("rita", frozenset({"reviewer"}))


@pytest.fixture
def handlers():
    """Register test handlers; removed afterwards."""
    added: list[str] = []

    def add(kind, fn):
        jobs.register_handler(kind, lambda job, progress, services: fn(job, progress))
        added.append(kind)

    yield add
    for kind in added:
        jobs.unregister_handler(kind)


def _age_heartbeat(wh, job_id, seconds) -> str:
    stamp = timestamp(datetime.now(UTC) - timedelta(seconds=seconds))
    wh.execute("UPDATE jobs SET heartbeat_at = ? WHERE job_id = ?", (stamp, job_id))
    return stamp


# -- enqueue ---------------------------------------------------------------------------------
def test_enqueue_creates_a_queued_job_with_an_audit_row(wh):
    job_id = jobs.enqueue(wh, "build", {"trigger": "code"}, ADMIN)
    job = jobs.get(wh, job_id)
    assert (job.kind, job.status, job.params, job.progress) == ("build", "queued", {"trigger": "code"}, 0.0)
    assert "ada" in job.message
    events = audit.events(wh, action="job.enqueue")
    assert [(e["actor"], e["target"]) for e in events] == [("ada", job_id)]


def test_duplicate_trigger_while_queued_makes_one_job(wh):
    first = jobs.enqueue(wh, "build", {"trigger": "quality"}, system_user())
    second = jobs.enqueue(wh, "build", {"trigger": "quality"}, ADMIN)
    assert first == second
    assert len(jobs.list_jobs(wh)) == 1


def test_different_params_or_kind_make_separate_jobs(wh):
    a = jobs.enqueue(wh, "build", {"trigger": "quality"}, ADMIN)
    b = jobs.enqueue(wh, "build", {"trigger": "code"}, ADMIN)
    c = jobs.enqueue(wh, "reembed", {"trigger": "quality"}, ADMIN)
    assert len({a, b, c}) == 3


def test_dedupe_on_compares_only_the_named_keys(wh):
    a = jobs.enqueue(wh, "build", {"trigger": "quality", "alert": "a1"}, ADMIN, dedupe_on=("trigger",))
    b = jobs.enqueue(wh, "build", {"trigger": "quality", "alert": "a2"}, ADMIN, dedupe_on=("trigger",))
    assert a == b
    assert jobs.get(wh, a).params["alert"] == "a1"


def test_a_running_job_does_not_absorb_a_new_trigger(wh):
    first = jobs.enqueue(wh, "build", {}, ADMIN)
    assert jobs.claim_next(wh, "w1").job_id == first
    second = jobs.enqueue(wh, "build", {}, ADMIN)
    assert second != first
    assert jobs.get(wh, second).status == "queued"


def test_concurrent_duplicate_triggers_make_one_job(wh):
    ids, barrier = [], threading.Barrier(8)

    def trigger():
        barrier.wait()
        ids.append(jobs.enqueue(wh, "build", {"trigger": "taxonomy"}, system_user()))

    threads = [threading.Thread(target=trigger) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1
    assert len(jobs.list_jobs(wh, status="queued")) == 1


def test_enqueue_needs_admin_or_system(wh):
    with pytest.raises(PermissionDenied, match="rita cannot queue a 'build' job"):
        jobs.enqueue(wh, "build", {}, REVIEWER)
    with pytest.raises(PermissionDenied):
        jobs.enqueue(wh, "build", {}, None)
    assert jobs.list_jobs(wh) == []


@pytest.mark.parametrize("kind", ["", "   "])
def test_enqueue_refuses_an_empty_kind(wh, kind):
    with pytest.raises(JobError, match="non-empty"):
        jobs.enqueue(wh, kind, {}, ADMIN)


# -- claim -----------------------------------------------------------------------------------
def test_claim_takes_the_oldest_queued_job_and_marks_it_running(wh):
    first = jobs.enqueue(wh, "build", {"n": 1}, ADMIN)
    jobs.enqueue(wh, "build", {"n": 2}, ADMIN)
    job = jobs.claim_next(wh, "worker-1")
    assert job.job_id == first
    assert (job.status, job.worker) == ("running", "worker-1")
    assert job.started_at and job.heartbeat_at


def test_claim_on_an_empty_queue_returns_none(wh):
    assert jobs.claim_next(wh, "w") is None


def test_claim_filters_by_kind(wh):
    jobs.enqueue(wh, "build", {}, ADMIN)
    imported = jobs.enqueue(wh, "import_taxonomy", {}, ADMIN)
    assert jobs.claim_next(wh, "w", kinds=["import_taxonomy"]).job_id == imported
    assert jobs.claim_next(wh, "w", kinds=["import_taxonomy"]) is None


def test_racing_claims_give_each_job_to_exactly_one_worker(wh):
    ids = {jobs.enqueue(wh, "count", {"n": n}, ADMIN) for n in range(30)}
    claimed: list[tuple[str, str]] = []
    barrier = threading.Barrier(4)

    def work(name):
        barrier.wait()
        while (job := jobs.claim_next(wh, name)) is not None:
            claimed.append((job.job_id, name))

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(j for j, _ in claimed) == sorted(ids)
    for job_id, name in claimed:
        assert jobs.get(wh, job_id).worker == name


# -- progress, finish, fail ------------------------------------------------------------------
def test_progress_is_recorded_and_beats_the_heart(wh):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    jobs.claim_next(wh, "w")
    _age_heartbeat(wh, job_id, 600)
    jobs.report_progress(wh, job_id, 0.25, "encoding")
    job = jobs.get(wh, job_id)
    assert (job.progress, job.message) == (0.25, "encoding")
    assert jobs.reap_stale(wh, 60) == []


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_progress_accepts_the_bounds(wh, fraction):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    jobs.claim_next(wh, "w")
    jobs.report_progress(wh, job_id, fraction, "")
    assert jobs.get(wh, job_id).progress == fraction


@pytest.mark.parametrize("fraction", [-0.01, 1.01, float("nan"), "half", True])
def test_progress_refuses_values_outside_0_to_1(wh, fraction):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    jobs.claim_next(wh, "w")
    with pytest.raises(JobError, match="between 0 and 1"):
        jobs.report_progress(wh, job_id, fraction, "")


def test_finish_stores_the_result(wh):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    jobs.claim_next(wh, "w")
    assert jobs.finish(wh, job_id, {"version": "1.3.0"}) is True
    job = jobs.get(wh, job_id)
    assert (job.status, job.result, job.progress) == ("succeeded", {"version": "1.3.0"}, 1.0)
    assert job.finished_at


def test_fail_stores_the_error_text(wh):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    jobs.claim_next(wh, "w")
    assert jobs.fail(wh, job_id, "ValueError: no training pairs") is True
    job = jobs.get(wh, job_id)
    assert (job.status, job.error) == ("failed", "ValueError: no training pairs")


def test_finish_of_a_job_that_is_not_running_changes_nothing(wh):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    assert jobs.finish(wh, job_id, {}) is False  # still queued
    assert jobs.get(wh, job_id).status == "queued"


# -- cancel ----------------------------------------------------------------------------------
def test_cancel_a_queued_job_keeps_workers_off_it(wh):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    job = jobs.cancel(wh, ADMIN, job_id)
    assert job.status == "cancelled" and jobs.get(wh, job_id).status == "cancelled"
    assert jobs.claim_next(wh, "w") is None
    assert audit.events(wh, action="job.cancel")[0]["target"] == job_id


def test_cancel_a_running_job_stops_it_at_its_next_progress_report(wh):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    jobs.claim_next(wh, "w")
    jobs.cancel(wh, ADMIN, job_id)
    with pytest.raises(JobCancelled, match="cancelled"):
        jobs.report_progress(wh, job_id, 0.5, "still going")
    assert jobs.finish(wh, job_id, {}) is False
    assert jobs.get(wh, job_id).status == "cancelled"


def test_cancel_needs_admin(wh):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    with pytest.raises(PermissionDenied, match="needs role admin"):
        jobs.cancel(wh, REVIEWER, job_id)
    with pytest.raises(PermissionDenied):
        jobs.cancel(wh, system_user(), job_id)
    assert jobs.get(wh, job_id).status == "queued"


def test_cancel_unknown_or_finished_jobs_is_refused(wh):
    with pytest.raises(JobError, match="no job nope"):
        jobs.cancel(wh, ADMIN, "nope")
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    jobs.claim_next(wh, "w")
    jobs.finish(wh, job_id, {})
    with pytest.raises(JobError, match="already succeeded"):
        jobs.cancel(wh, ADMIN, job_id)


# -- reaping ---------------------------------------------------------------------------------
def test_reap_fails_running_jobs_with_an_old_heartbeat(wh):
    lost = jobs.enqueue(wh, "build", {"n": 1}, ADMIN)
    alive = jobs.enqueue(wh, "build", {"n": 2}, ADMIN)
    queued = jobs.enqueue(wh, "build", {"n": 3}, ADMIN)
    jobs.claim_next(wh, "dead-worker")
    jobs.claim_next(wh, "live-worker")
    _age_heartbeat(wh, lost, 120)
    assert jobs.reap_stale(wh, 60, max_attempts=1) == [lost]  # no retry left: failed
    job = jobs.get(wh, lost)
    assert job.status == "failed"
    assert job.error.startswith("worker lost") and "dead-worker" in job.error
    assert jobs.get(wh, alive).status == "running"
    assert jobs.get(wh, queued).status == "queued"
    with pytest.raises(JobCancelled, match="worker lost"):
        jobs.report_progress(wh, lost, 0.9, "too late")


def test_reap_boundary_just_inside_the_limit_is_kept(wh):
    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    jobs.claim_next(wh, "w")
    _age_heartbeat(wh, job_id, 50)
    assert jobs.reap_stale(wh, 60) == []
    assert jobs.reap_stale(wh, 40) == [job_id]


def test_reap_refuses_a_negative_limit(wh):
    with pytest.raises(JobError, match="at least 0"):
        jobs.reap_stale(wh, -1)


# -- listing and handlers --------------------------------------------------------------------
def test_list_jobs_newest_first_with_filters(wh):
    a = jobs.enqueue(wh, "build", {"n": 1}, ADMIN)
    b = jobs.enqueue(wh, "import_taxonomy", {"n": 2}, ADMIN)
    jobs.cancel(wh, ADMIN, a)
    assert [j.job_id for j in jobs.list_jobs(wh)] == [b, a]
    assert [j.job_id for j in jobs.list_jobs(wh, status="cancelled")] == [a]
    assert [j.job_id for j in jobs.list_jobs(wh, kind="import_taxonomy")] == [b]
    assert len(jobs.list_jobs(wh, limit=1)) == 1
    with pytest.raises(JobError, match="unknown job status"):
        jobs.list_jobs(wh, status="done")
    with pytest.raises(JobError, match="at least 1"):
        jobs.list_jobs(wh, limit=0)


def test_get_unknown_job_is_none(wh):
    assert jobs.get(wh, "missing") is None


def test_handler_lookup_names_the_unknown_kind(handlers):
    handlers("known-kind", lambda job, progress: {"ran": job})
    assert jobs.handler_for("known-kind")("job-1", None, None) == {"ran": "job-1"}
    with pytest.raises(JobError, match="no handler registered for job kind 'mystery'"):
        jobs.handler_for("mystery")
    with pytest.raises(JobError):
        jobs.register_handler("x", "not callable")


# -- the worker, in-process ------------------------------------------------------------------
def test_worker_runs_a_job_and_records_its_result(wh, handlers):
    seen = []

    def double(job, progress):
        progress(0.5, "halfway")
        seen.append(jobs.get(wh, job.job_id).message)
        return {"value": job.params["x"] * 2}

    handlers("double", double)
    job_id = jobs.enqueue(wh, "double", {"x": 21}, ADMIN)
    done = Worker(wh, "w1", heartbeat_s=0.05, stale_after_s=5).run_once()
    assert (done.job_id, done.status, done.result) == (job_id, "succeeded", {"value": 42})
    assert seen == ["halfway"]


def test_worker_with_nothing_queued_returns_none(wh):
    assert Worker(wh, "w1").run_once() is None


def test_worker_marks_a_raising_handler_failed_with_the_error_text(wh, handlers):
    def broken(job, progress):
        raise ValueError("no training pairs for data version 7")

    handlers("broken", broken)
    jobs.enqueue(wh, "broken", {}, ADMIN)
    job = Worker(wh, "w1").run_once()
    assert job.status == "failed"
    assert job.error.startswith("ValueError: no training pairs for data version 7")


def test_worker_fails_a_handler_that_returns_no_dict(wh, handlers):
    handlers("listy", lambda job, progress: [1, 2])
    jobs.enqueue(wh, "listy", {}, ADMIN)
    job = Worker(wh, "w1").run_once()
    assert job.status == "failed" and "returned list, not a dict" in job.error


def test_worker_fails_a_job_of_unknown_kind(wh):
    jobs.enqueue(wh, "no-such-kind", {}, ADMIN)
    job = Worker(wh, "w1").run_once()
    assert job.status == "failed" and "no handler registered" in job.error


def test_worker_leaves_a_job_cancelled_mid_run_cancelled(wh, handlers):
    def cancelled_midway(job, progress):
        progress(0.1, "start")
        jobs.cancel(wh, ADMIN, job.job_id)
        progress(0.2, "next step")  # raises JobCancelled
        raise AssertionError("the handler must stop at the progress report")

    handlers("cancel-me", cancelled_midway)
    jobs.enqueue(wh, "cancel-me", {}, ADMIN)
    job = Worker(wh, "w1").run_once()
    assert job.status == "cancelled" and job.error is None


def test_worker_heartbeat_keeps_a_long_job_from_being_reaped(wh, handlers):
    release = threading.Event()
    started = threading.Event()

    def slow(job, progress):
        started.set()
        release.wait(10)
        return {"ok": True}

    handlers("slow", slow)
    job_id = jobs.enqueue(wh, "slow", {}, ADMIN)
    worker = Worker(wh, "w1", heartbeat_s=0.05, stale_after_s=5)
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    assert started.wait(10)
    aged = _age_heartbeat(wh, job_id, 600)
    beat_again = False
    for _ in range(500):  # wait for the heartbeat thread to refresh it
        if jobs.get(wh, job_id).heartbeat_at > aged:
            beat_again = True
            break
        threading.Event().wait(0.02)
    release.set()
    thread.join()
    assert beat_again
    assert jobs.get(wh, job_id).status == "succeeded"


def test_worker_refuses_a_stale_limit_below_the_heartbeat(wh):
    with pytest.raises(ValueError, match="must exceed heartbeat_s"):
        Worker(wh, heartbeat_s=5, stale_after_s=5)
    with pytest.raises(ValueError, match="positive"):
        Worker(wh, heartbeat_s=0)


def test_claim_treats_a_serialization_abort_as_a_lost_race(wh, monkeypatch):
    from mlops.adapters.warehouse import WarehouseError

    job_id = jobs.enqueue(wh, "build", {}, ADMIN)
    real_execute, aborts = wh.execute, []

    def execute(sql, params=()):
        if sql.startswith("UPDATE jobs SET status") and not aborts:
            aborts.append(sql)
            raise WarehouseError("ERROR: 1023 DETAIL: Serializable isolation violation on table jobs")
        return real_execute(sql, params)

    monkeypatch.setattr(wh, "execute", execute)
    job = jobs.claim_next(wh, "w1")
    assert len(aborts) == 1 and (job.job_id, job.status) == (job_id, "running")


def test_claim_reports_other_warehouse_errors(wh, monkeypatch):
    from mlops.adapters.warehouse import WarehouseError

    jobs.enqueue(wh, "build", {}, ADMIN)

    def execute(sql, params=()):
        raise WarehouseError("disk I/O error")

    monkeypatch.setattr(wh, "execute", execute)
    with pytest.raises(WarehouseError, match="disk I/O error"):
        jobs.claim_next(wh, "w1")
