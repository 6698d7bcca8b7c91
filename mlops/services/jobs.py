"""Background jobs in the warehouse `jobs` table: queue, claim, progress, finish, cancel, reap.

Life of a job: `queued` -> `running` (claimed by one worker) -> `succeeded` | `failed` |
`cancelled`. A second trigger of the same kind and parameters while one is still queued
returns the queued job instead of adding another (`enqueue`). Claiming is
a conditional update (only of a job still `queued`) whose row count says who won, so two
workers never run the same job. A running job's worker beats its heart (`heartbeat`,
`report_progress`); `reap_stale` takes back a running job whose heartbeat stopped (a killed
worker): it is queued again for another worker, up to `MAX_ATTEMPTS` runs in all, then failed
with "worker lost" and the attempts, so no job stays running forever. Each loss is an audit
event (`job.reap`), which is also what counts the attempts.

Each running job has a scratch folder, `scratch_dir(job_id)` (under the system temp folder),
for its temporary files: the worker removes it when the job ends, and the reaper when it takes
back a lost job (on the worker's machine), so a killed worker leaves nothing behind.

Handlers run the work: `register_handler(kind, fn)` where `fn(job, progress, services) -> dict`
(`services`: the worker's `mlops.bootstrap.Bootstrap`) and
`progress(fraction, message)` reports progress and raises `JobCancelled` once the job was
cancelled (or reaped). Modules named in `HANDLER_MODULES` are imported on the first lookup
of an unknown kind, so that they can register theirs.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from mlops.adapters.warehouse.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job
from mlops.adapters.warehouse.repositories import Repositories, Source, repositories
from mlops.domain.clock import timestamp, utc
from mlops.services import audit
from mlops.services.identity import User, require_role

__all__ = [
    "CANCELLED",
    "FAILED",
    "FINAL_STATUSES",
    "QUEUED",
    "RUNNING",
    "STATUSES",
    "SUCCEEDED",
    "Job",
    "JobCancelled",
    "JobError",
    "cancel",
    "claim_next",
    "enqueue",
    "fail",
    "finish",
    "get",
    "handler_for",
    "heartbeat",
    "list_jobs",
    "reap_stale",
    "register_handler",
    "remove_scratch",
    "report_progress",
    "scratch_dir",
    "unregister_handler",
]

STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINAL_STATUSES = (SUCCEEDED, FAILED, CANCELLED)
WORKER_LOST = "worker lost"
#: Runs of one job in all (the first and the retries) before a lost job is failed.
MAX_ATTEMPTS = 3
REAP_ACTION = "job.reap"
SCRATCH_FOLDER = "sea-jobs"
#: The table whose write lock serialises check-and-insert of queued jobs.
LOCK = "jobs"
#: Modules imported on the first lookup of an unregistered kind; each registers its handlers.
HANDLER_MODULES = ("mlops.services.build", "mlops.services.taxonomy_import")


class JobError(RuntimeError):
    """An unknown job, an invalid state change or a bad argument; the message says which."""


class JobCancelled(Exception):
    """Raised inside a running job when it was cancelled (or reaped) meanwhile: stop working."""


Progress = Callable[[float, str], None]
Handler = Callable[[Job, Progress, Any], "dict[str, Any] | None"]  # (job, progress, services)
_HANDLERS: dict[str, Handler] = {}


# -- handlers --------------------------------------------------------------------------------
def register_handler(kind: str, fn: Handler) -> None:
    """Make `fn(job, progress, services) -> result dict` run the jobs of `kind` (replaces an
    earlier one)."""
    if not isinstance(kind, str) or not kind.strip():
        raise JobError("a job kind must be a non-empty string")
    if not callable(fn):
        raise JobError(f"the handler for {kind!r} must be callable")
    _HANDLERS[kind.strip()] = fn


def unregister_handler(kind: str) -> None:
    """Forget the handler of `kind` (no error when none)."""
    _HANDLERS.pop(kind, None)


def handler_for(kind: str) -> Handler:
    """The handler of `kind`, importing `HANDLER_MODULES` first if none is registered yet."""
    if kind not in _HANDLERS:
        for module in HANDLER_MODULES:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:  # the module exists but one of its imports is missing
                    raise
    try:
        return _HANDLERS[kind]
    except KeyError:
        known = ", ".join(sorted(_HANDLERS)) or "none"
        raise JobError(f"no handler registered for job kind {kind!r} (registered: {known})") from None


# -- queueing --------------------------------------------------------------------------------
def _new_job_id() -> str:
    """32 hex characters that sort by creation time (nanoseconds, then random): jobs queued in
    the same millisecond (one `created_at`) are still claimed in the order they were queued."""
    return f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"


def _same_trigger(params: dict, other: dict, dedupe_on: Sequence[str] | None) -> bool:
    if dedupe_on is None:
        return params == other
    return all(params.get(key) == other.get(key) for key in dedupe_on)


def enqueue(
    source: Source,
    kind: str,
    params: dict[str, Any] | None = None,
    user: User | None = None,
    *,
    dedupe_on: Sequence[str] | None = None,
    message: str | None = None,
) -> str:
    """Queue a job; returns its id. Needs role admin or system. Inside an open transaction
    (`source` one), the job is queued in it.

    While a job of the same kind is still queued with the same parameters (all of them, or
    only the keys in `dedupe_on`), no new job is added and the queued job's id is returned.
    `message` replaces the job's first message (default "queued by <user>").
    """
    user = require_role(user, "admin", "system", action=f"queue a {kind!r} job", source=source)
    if not isinstance(kind, str) or not kind.strip():
        raise JobError("a job kind must be a non-empty string")
    kind = kind.strip()
    params = dict(params or {})
    with repositories(source).transaction(LOCK) as tx:
        for job in tx.jobs.queued([kind]):
            if _same_trigger(params, job.params, dedupe_on):
                audit.record(
                    tx,
                    user.username,
                    "job.enqueue",
                    job.job_id,
                    {"kind": kind, "params": params, "merged": True},
                )
                return job.job_id
        job_id = _new_job_id()
        tx.jobs.add(
            Job(
                job_id,
                kind,
                QUEUED,
                0.0,
                message or f"queued by {user.username}",
                params,
                created_at=timestamp(),
            )
        )
        audit.record(
            tx, user.username, "job.enqueue", job_id, {"kind": kind, "params": params, "merged": False}
        )
        return job_id


def claim_next(source: Source, worker_id: str, kinds: Sequence[str] | None = None) -> Job | None:
    """Take the oldest queued job (of `kinds`, when given) for `worker_id`; None when none.
    Atomic: of two workers claiming the same job, exactly one gets it."""
    repos = repositories(source)
    while True:
        candidates = repos.jobs.queued(kinds or None, limit=20)
        if not candidates:
            return None
        for job in candidates:
            if repos.jobs.claim(job.job_id, worker_id, timestamp()):
                return repos.jobs.get(job.job_id)
        # every candidate was taken by someone else meanwhile: look again


# -- running ---------------------------------------------------------------------------------
def _stopped(repos: Repositories, job_id: str) -> JobCancelled:
    job = repos.jobs.get(job_id)
    if job is None:
        return JobCancelled(f"job {job_id} no longer exists")
    return JobCancelled(f"job {job_id} is {job.status}" + (f": {job.error}" if job.error else ""))


def heartbeat(source: Source, job_id: str) -> bool:
    """Tell the reaper the job's worker is alive; False when the job is no longer running."""
    return repositories(source).jobs.heartbeat(job_id, timestamp())


def report_progress(source: Source, job_id: str, fraction: float, message: str = "") -> None:
    """Record progress (0..1) and a message; also a heartbeat. Raises JobCancelled when the
    job is no longer running (cancelled, or reaped as lost): the handler must stop."""
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, (int, float))
        or not 0.0 <= float(fraction) <= 1.0
    ):
        raise JobError(f"progress must be a number between 0 and 1, got {fraction!r}")
    repos = repositories(source)
    if not repos.jobs.set_progress(job_id, float(fraction), str(message), timestamp()):
        raise _stopped(repos, job_id)


def finish(source: Source, job_id: str, result: dict[str, Any] | None = None) -> bool:
    """Mark a running job succeeded with its result; False when it was no longer running
    (cancelled or reaped meanwhile: that outcome stands)."""
    return repositories(source).jobs.finish(job_id, result or {}, timestamp())


def fail(source: Source, job_id: str, error: str) -> bool:
    """Mark a running job failed with the error text; False when it was no longer running."""
    return repositories(source).jobs.fail(job_id, str(error) or "failed", timestamp())


def cancel(source: Source, user: User, job_id: str) -> Job:
    """Cancel a queued or running job (role admin); a running job stops at its next progress
    report. JobError when the job is unknown or already finished."""
    user = require_role(user, "admin", action=f"cancel job {job_id}", source=source)
    repos = repositories(source)
    with repos.transaction() as tx:
        job = tx.jobs.get(job_id)
        if job is None:
            raise JobError(f"no job {job_id}")
        if job.status not in (QUEUED, RUNNING):
            raise JobError(
                f"job {job_id} is already {job.status}: only queued or running jobs can be cancelled"
            )
        tx.jobs.cancel(job_id, job.status, f"cancelled by {user.username}", timestamp())
        audit.record(tx, user.username, "job.cancel", job_id, {"was": job.status})
    cancelled = repos.jobs.get(job_id)
    if cancelled is None:  # removed meanwhile
        raise JobError(f"no job {job_id}")
    return cancelled


def reap_stale(source: Source, older_than_s: float, max_attempts: int = MAX_ATTEMPTS) -> list[str]:
    """Take back every running job whose last heartbeat is more than `older_than_s` seconds
    old: queued again while it ran fewer than `max_attempts` times, else failed ("worker
    lost ... attempt n of n"); its scratch folder is removed. Returns their ids."""
    if older_than_s < 0:
        raise JobError(f"older_than_s must be at least 0, got {older_than_s}")
    if max_attempts < 1:
        raise JobError(f"max_attempts must be at least 1, got {max_attempts}")
    repos = repositories(source)
    cutoff = timestamp(utc() - timedelta(seconds=older_than_s))
    reaped = []
    for job in repos.jobs.stale(cutoff):
        seen = job.heartbeat_at or job.started_at
        reason = f"{WORKER_LOST}: no heartbeat from worker {job.worker} since {seen}"
        with repos.transaction(LOCK) as tx:
            attempt = 1 + len(tx.audit.events(action=REAP_ACTION, target=job.job_id, limit=max_attempts))
            if attempt < max_attempts:
                outcome = "retried"
                changed = tx.jobs.requeue(
                    job.job_id,
                    seen,
                    reason,
                    f"queued again after attempt {attempt} of {max_attempts} ({WORKER_LOST})",
                )
            else:
                outcome = "failed"
                changed = tx.jobs.reap(
                    job.job_id,
                    seen,
                    f"{reason} (attempt {attempt} of {max_attempts}, no retry left)",
                    timestamp(),
                )
            if changed:
                audit.record(
                    tx,
                    "system",
                    REAP_ACTION,
                    job.job_id,
                    {"error": reason, "attempt": attempt, "outcome": outcome},
                )
                reaped.append(job.job_id)
        if job.job_id in reaped:
            remove_scratch(job.job_id)
    return reaped


def _scratch_path(job_id: str) -> Path:
    if not isinstance(job_id, str) or not job_id or "/" in job_id or job_id in (".", ".."):
        raise JobError(f"not a job id: {job_id!r}")
    return Path(tempfile.gettempdir()) / SCRATCH_FOLDER / job_id


def scratch_dir(job_id: str) -> Path:
    """The job's scratch folder for temporary files (created; removed when the job ends)."""
    folder = _scratch_path(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_scratch(job_id: str) -> None:
    """Remove the job's scratch folder, when there is one on this machine."""
    shutil.rmtree(_scratch_path(job_id), ignore_errors=True)


# -- reading ---------------------------------------------------------------------------------
def get(source: Source, job_id: str) -> Job | None:
    """One job, or None when unknown."""
    return repositories(source).jobs.get(job_id)


def list_jobs(
    source: Source, status: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Job]:
    """Jobs, newest first, optionally of one status and/or kind."""
    if status is not None and status not in STATUSES:
        raise JobError(f"unknown job status {status!r}: expected one of {', '.join(STATUSES)}")
    if limit < 1:
        raise JobError(f"limit must be at least 1, got {limit}")
    return repositories(source).jobs.recent(status, kind, int(limit))
