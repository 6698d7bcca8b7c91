"""Background jobs in the warehouse `jobs` table: queue, claim, progress, finish, cancel, reap.

Life of a job: `queued` -> `running` (claimed by one worker) -> `succeeded` | `failed` |
`cancelled`. A second trigger of the same kind and parameters while one is still queued
returns the queued job instead of adding another (`enqueue`). Claiming is a conditional
UPDATE (`... WHERE job_id = ? AND status = 'queued'`) whose row count says who won, so two
workers never run the same job. A running job's worker beats its heart (`heartbeat`,
`report_progress`); `reap_stale` marks a running job whose heartbeat stopped (a killed
worker) as failed with "worker lost", so no job stays running forever.

Handlers run the work: `register_handler(kind, fn)` where `fn(job, progress, services) -> dict`
(`services`: the worker's `mlops.bootstrap.Bootstrap`) and
`progress(fraction, message)` reports progress and raises `JobCancelled` once the job was
cancelled (or reaped). Modules named in `HANDLER_MODULES` are imported on the first lookup
of an unknown kind, so that they can register theirs.
"""
from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from mlops.adapters.warehouse.base import Session, Warehouse, WarehouseError
from mlops.services import audit
from mlops.services.identity import User, require_role

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINAL_STATUSES = (SUCCEEDED, FAILED, CANCELLED)
WORKER_LOST = "worker lost"
#: Modules imported on the first lookup of an unregistered kind; each registers its handlers.
HANDLER_MODULES = ("mlops.services.build", "mlops.services.taxonomy_import")
_COLUMNS = ("job_id, kind, status, progress, message, params, result, error, created_at, "
            "started_at, finished_at, heartbeat_at, worker")


class JobError(RuntimeError):
    """An unknown job, an invalid state change or a bad argument; the message says which."""


class JobCancelled(Exception):
    """Raised inside a running job when it was cancelled (or reaped) meanwhile: stop working."""


@dataclass(frozen=True)
class Job:
    """One row of the jobs table, with `params` and `result` decoded from JSON."""

    job_id: str
    kind: str
    status: str
    progress: float = 0.0
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    heartbeat_at: str | None = None
    worker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The job as a JSON-ready dict."""
        return dict(self.__dict__)


Progress = Callable[[float, str], None]
Handler = Callable[[Job, Progress, Any], "dict[str, Any] | None"]  # (job, progress, services)
_HANDLERS: dict[str, Handler] = {}


def utc_now() -> str:
    """Now, ISO-8601 UTC without offset, microseconds (fixed width: compares as text)."""
    return _stamp(datetime.now(timezone.utc))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def _encode(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _row_to_job(row: dict[str, Any]) -> Job:
    params = json.loads(row["params"]) if row.get("params") else {}
    result = json.loads(row["result"]) if row.get("result") else None
    return Job(job_id=row["job_id"], kind=row["kind"], status=row["status"],
               progress=float(row["progress"] or 0.0), message=row.get("message") or "",
               params=params, result=result, error=row.get("error"),
               created_at=row.get("created_at"), started_at=row.get("started_at"),
               finished_at=row.get("finished_at"), heartbeat_at=row.get("heartbeat_at"),
               worker=row.get("worker"))


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
def _same_trigger(params: dict, other: dict, dedupe_on: Sequence[str] | None) -> bool:
    if dedupe_on is None:
        return params == other
    return all(params.get(key) == other.get(key) for key in dedupe_on)


def _lock_jobs(session: Session, warehouse: Warehouse) -> None:
    """Serialise check-and-insert: SQLite's BEGIN IMMEDIATE already does; elsewhere lock the table."""
    if warehouse.dialect != "sqlite":
        session.execute("LOCK jobs")


def enqueue(warehouse: Warehouse, kind: str, params: dict[str, Any] | None = None,
            user: User | None = None, *, dedupe_on: Sequence[str] | None = None) -> str:
    """Queue a job; returns its id. Needs role admin or system.

    While a job of the same kind is still queued with the same parameters (all of them, or
    only the keys in `dedupe_on`), no new job is added and the queued job's id is returned.
    """
    require_role(user, "admin", "system", action=f"queue a {kind!r} job")
    if not isinstance(kind, str) or not kind.strip():
        raise JobError("a job kind must be a non-empty string")
    kind = kind.strip()
    params = dict(params or {})
    encoded = _encode(params)
    with warehouse.transaction() as session:
        _lock_jobs(session, warehouse)
        for row in session.query("SELECT job_id, params FROM jobs WHERE kind = ? AND status = ? "
                                 "ORDER BY created_at, job_id", (kind, QUEUED)):
            if _same_trigger(params, json.loads(row["params"] or "{}"), dedupe_on):
                audit.record(session, user.username, "job.enqueue", row["job_id"],
                             {"kind": kind, "params": params, "merged": True})
                return row["job_id"]
        job_id = uuid.uuid4().hex
        now = utc_now()
        session.execute(
            "INSERT INTO jobs (job_id, kind, status, progress, message, params, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, kind, QUEUED, 0.0, f"queued by {user.username}", encoded, now))
        audit.record(session, user.username, "job.enqueue", job_id,
                     {"kind": kind, "params": params, "merged": False})
        return job_id


def claim_next(warehouse: Warehouse, worker_id: str,
               kinds: Sequence[str] | None = None) -> Job | None:
    """Take the oldest queued job (of `kinds`, when given) for `worker_id`; None when none.
    Atomic: of two workers claiming the same job, exactly one gets it."""
    sql = "SELECT job_id FROM jobs WHERE status = ?"
    args: list[Any] = [QUEUED]
    if kinds:
        sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
        args += list(kinds)
    while True:
        candidates = warehouse.query(sql + " ORDER BY created_at, job_id LIMIT 20", args)
        if not candidates:
            return None
        for row in candidates:
            now = utc_now()
            try:
                won = warehouse.execute(
                    "UPDATE jobs SET status = ?, started_at = ?, heartbeat_at = ?, worker = ?, "
                    "message = ? WHERE job_id = ? AND status = ?",
                    (RUNNING, now, now, worker_id, f"started by {worker_id}", row["job_id"], QUEUED))
            except WarehouseError as exc:
                # Redshift (serializable) aborts one of two concurrent claims: that one lost.
                if "serializ" not in str(exc).lower():
                    raise
                won = 0
            if won < 0:  # a driver that cannot count: read who holds it
                job = get(warehouse, row["job_id"])
                won = int(job is not None and job.status == RUNNING and job.worker == worker_id
                          and job.started_at == now)
            if won == 1:
                return get(warehouse, row["job_id"])
        # every candidate was taken by someone else meanwhile: look again


# -- running ---------------------------------------------------------------------------------
def _stopped(warehouse: Warehouse, job_id: str) -> JobCancelled:
    job = get(warehouse, job_id)
    if job is None:
        return JobCancelled(f"job {job_id} no longer exists")
    return JobCancelled(f"job {job_id} is {job.status}" + (f": {job.error}" if job.error else ""))


def heartbeat(warehouse: Warehouse, job_id: str) -> bool:
    """Tell the reaper the job's worker is alive; False when the job is no longer running."""
    return warehouse.execute("UPDATE jobs SET heartbeat_at = ? WHERE job_id = ? AND status = ?",
                             (utc_now(), job_id, RUNNING)) == 1


def report_progress(warehouse: Warehouse, job_id: str, fraction: float, message: str = "") -> None:
    """Record progress (0..1) and a message; also a heartbeat. Raises JobCancelled when the
    job is no longer running (cancelled, or reaped as lost): the handler must stop."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
            or not 0.0 <= float(fraction) <= 1.0:
        raise JobError(f"progress must be a number between 0 and 1, got {fraction!r}")
    updated = warehouse.execute(
        "UPDATE jobs SET progress = ?, message = ?, heartbeat_at = ? WHERE job_id = ? AND status = ?",
        (float(fraction), str(message), utc_now(), job_id, RUNNING))
    if updated != 1:
        raise _stopped(warehouse, job_id)


def is_cancelled(warehouse: Warehouse, job_id: str) -> bool:
    """True when the job was cancelled."""
    job = get(warehouse, job_id)
    return job is not None and job.status == CANCELLED


def finish(warehouse: Warehouse, job_id: str, result: dict[str, Any] | None = None) -> bool:
    """Mark a running job succeeded with its result; False when it was no longer running
    (cancelled or reaped meanwhile: that outcome stands)."""
    now = utc_now()
    return warehouse.execute(
        "UPDATE jobs SET status = ?, progress = ?, result = ?, finished_at = ?, heartbeat_at = ?, "
        "message = ? WHERE job_id = ? AND status = ?",
        (SUCCEEDED, 1.0, _encode(result or {}), now, now, "done", job_id, RUNNING)) == 1


def fail(warehouse: Warehouse, job_id: str, error: str) -> bool:
    """Mark a running job failed with the error text; False when it was no longer running."""
    now = utc_now()
    return warehouse.execute(
        "UPDATE jobs SET status = ?, error = ?, finished_at = ?, heartbeat_at = ?, message = ? "
        "WHERE job_id = ? AND status = ?",
        (FAILED, str(error) or "failed", now, now, "failed", job_id, RUNNING)) == 1


def cancel(warehouse: Warehouse, user: User, job_id: str) -> Job:
    """Cancel a queued or running job (role admin); a running job stops at its next progress
    report. JobError when the job is unknown or already finished."""
    require_role(user, "admin", action=f"cancel job {job_id}")
    with warehouse.transaction() as session:
        row = session.query_one("SELECT status FROM jobs WHERE job_id = ?", (job_id,))
        if row is None:
            raise JobError(f"no job {job_id}")
        if row["status"] not in (QUEUED, RUNNING):
            raise JobError(f"job {job_id} is already {row['status']}: only queued or running "
                           "jobs can be cancelled")
        session.execute(
            "UPDATE jobs SET status = ?, finished_at = ?, message = ? WHERE job_id = ? AND status = ?",
            (CANCELLED, utc_now(), f"cancelled by {user.username}", job_id, row["status"]))
        audit.record(session, user.username, "job.cancel", job_id, {"was": row["status"]})
    return get(warehouse, job_id)


def reap_stale(warehouse: Warehouse, older_than_s: float) -> list[str]:
    """Mark failed ("worker lost") every running job whose last heartbeat is more than
    `older_than_s` seconds old; returns their ids."""
    if older_than_s < 0:
        raise JobError(f"older_than_s must be at least 0, got {older_than_s}")
    cutoff = _stamp(datetime.now(timezone.utc) - timedelta(seconds=older_than_s))
    rows = warehouse.query(
        "SELECT job_id, heartbeat_at, started_at, worker FROM jobs WHERE status = ? "
        "AND (heartbeat_at < ? OR (heartbeat_at IS NULL AND started_at < ?))",
        (RUNNING, cutoff, cutoff))
    reaped = []
    for row in rows:
        seen = row["heartbeat_at"] or row["started_at"]
        error = f"{WORKER_LOST}: no heartbeat from worker {row['worker']} since {seen}"
        with warehouse.transaction() as session:
            updated = session.execute(
                "UPDATE jobs SET status = ?, error = ?, finished_at = ?, message = ? "
                "WHERE job_id = ? AND status = ? AND (heartbeat_at = ? OR heartbeat_at IS NULL)",
                (FAILED, error, utc_now(), "failed", row["job_id"], RUNNING, seen))
            if updated == 1:
                audit.record(session, "system", "job.reap", row["job_id"], {"error": error})
                reaped.append(row["job_id"])
    return reaped


# -- reading ---------------------------------------------------------------------------------
def get(warehouse: Warehouse, job_id: str) -> Job | None:
    """One job, or None when unknown."""
    row = warehouse.query_one(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,))
    return None if row is None else _row_to_job(row)


def list_jobs(warehouse: Warehouse, status: str | None = None, kind: str | None = None,
              limit: int = 100) -> list[Job]:
    """Jobs, newest first, optionally of one status and/or kind."""
    if status is not None and status not in STATUSES:
        raise JobError(f"unknown job status {status!r}: expected one of {', '.join(STATUSES)}")
    if limit < 1:
        raise JobError(f"limit must be at least 1, got {limit}")
    where, args = [], []
    for column, value in (("status", status), ("kind", kind)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = f"SELECT {_COLUMNS} FROM jobs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = warehouse.query(sql + " ORDER BY created_at DESC, job_id DESC LIMIT ?", (*args, int(limit)))
    return [_row_to_job(row) for row in rows]
