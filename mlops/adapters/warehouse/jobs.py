"""The jobs' repository: rows of the `jobs` table as `Job` records, and the conditional
updates (`... WHERE status = ?`) whose row counts say whether a state change happened."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops.adapters.warehouse.base import Session, WarehouseError

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
_COLUMNS = (
    "job_id, kind, status, progress, message, params, result, error, created_at, "
    "started_at, finished_at, heartbeat_at, worker"
)


@dataclass(frozen=True)
class Job:
    """One background job, with `params` and `result` decoded from JSON."""

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


def encode(value: Any) -> str:
    """JSON text of job params or results (sorted keys, unicode kept, anything else as str)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


class JobRepository(ABC):
    """Where jobs are stored; every `bool` method says whether the row changed (it changes only
    from the expected status)."""

    @abstractmethod
    def add(self, job: Job) -> None:
        """Store a new job."""

    @abstractmethod
    def get(self, job_id: str) -> Job | None:
        """One job, or None."""

    @abstractmethod
    def recent(self, status: str | None = None, kind: str | None = None, limit: int = 100) -> list[Job]:
        """Jobs newest first (`created_at`, then `job_id`, both descending)."""

    @abstractmethod
    def queued(self, kinds: Sequence[str] | None = None, limit: int | None = None) -> list[Job]:
        """Queued jobs (of `kinds`, when given) oldest first (`created_at`, then `job_id`)."""

    @abstractmethod
    def claim(self, job_id: str, worker: str, now: str) -> bool:
        """queued -> running for `worker`; False when someone else claimed it first."""

    @abstractmethod
    def heartbeat(self, job_id: str, now: str) -> bool:
        """A running job's heartbeat."""

    @abstractmethod
    def set_progress(self, job_id: str, fraction: float, message: str, now: str) -> bool:
        """A running job's progress and message (also a heartbeat)."""

    @abstractmethod
    def finish(self, job_id: str, result: dict[str, Any], now: str) -> bool:
        """running -> succeeded with its result."""

    @abstractmethod
    def fail(self, job_id: str, error: str, now: str) -> bool:
        """running -> failed with the error text."""

    @abstractmethod
    def cancel(self, job_id: str, was: str, message: str, now: str) -> bool:
        """`was` (queued or running) -> cancelled."""

    @abstractmethod
    def stale(self, cutoff: str) -> list[Job]:
        """Running jobs whose heartbeat (or, without one, start) is before `cutoff`."""

    @abstractmethod
    def reap(self, job_id: str, seen: str | None, error: str, now: str) -> bool:
        """running -> failed, unless the job beat its heart since `seen`."""

    @abstractmethod
    def requeue(self, job_id: str, seen: str | None, error: str, message: str) -> bool:
        """running -> queued again (no worker, no progress; `error` says why), unless the job
        beat its heart since `seen`."""


def _job(row: dict[str, Any]) -> Job:
    return Job(
        job_id=row["job_id"],
        kind=row["kind"],
        status=row["status"],
        progress=float(row["progress"] or 0.0),
        message=row.get("message") or "",
        params=json.loads(row["params"]) if row.get("params") else {},
        result=json.loads(row["result"]) if row.get("result") else None,
        error=row.get("error"),
        created_at=row.get("created_at"),
        started_at=row.get("started_at"),
        finished_at=row.get("finished_at"),
        heartbeat_at=row.get("heartbeat_at"),
        worker=row.get("worker"),
    )


class SqlJobRepository(JobRepository):
    """The `jobs` table."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def add(self, job: Job) -> None:
        self.db.execute(
            "INSERT INTO jobs (job_id, kind, status, progress, message, params, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job.job_id, job.kind, job.status, job.progress, job.message, encode(job.params), job.created_at),
        )

    def get(self, job_id: str) -> Job | None:
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,))
        return None if row is None else _job(row)

    def recent(self, status: str | None = None, kind: str | None = None, limit: int = 100) -> list[Job]:
        where, args = [], []
        for column, value in (("status", status), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT {_COLUMNS} FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.query(sql + " ORDER BY created_at DESC, job_id DESC LIMIT ?", (*args, int(limit)))
        return [_job(row) for row in rows]

    def queued(self, kinds: Sequence[str] | None = None, limit: int | None = None) -> list[Job]:
        sql = f"SELECT {_COLUMNS} FROM jobs WHERE status = ?"
        args: list[Any] = [QUEUED]
        if kinds:
            sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
            args += list(kinds)
        sql += " ORDER BY created_at, job_id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [_job(row) for row in self.db.query(sql, args)]

    def claim(self, job_id: str, worker: str, now: str) -> bool:
        try:
            won = self.db.execute(
                "UPDATE jobs SET status = ?, started_at = ?, heartbeat_at = ?, worker = ?, "
                "message = ? WHERE job_id = ? AND status = ?",
                (RUNNING, now, now, worker, f"started by {worker}", job_id, QUEUED),
            )
        except WarehouseError as exc:
            # Redshift (serializable) aborts one of two concurrent claims: that one lost.
            if "serializ" not in str(exc).lower():
                raise
            return False
        if won < 0:  # a driver that cannot count: read who holds it
            job = self.get(job_id)
            return (
                job is not None and job.status == RUNNING and job.worker == worker and job.started_at == now
            )
        return won == 1

    def heartbeat(self, job_id: str, now: str) -> bool:
        return (
            self.db.execute(
                "UPDATE jobs SET heartbeat_at = ? WHERE job_id = ? AND status = ?", (now, job_id, RUNNING)
            )
            == 1
        )

    def set_progress(self, job_id: str, fraction: float, message: str, now: str) -> bool:
        return (
            self.db.execute(
                "UPDATE jobs SET progress = ?, message = ?, heartbeat_at = ? WHERE job_id = ? AND status = ?",
                (float(fraction), message, now, job_id, RUNNING),
            )
            == 1
        )

    def finish(self, job_id: str, result: dict[str, Any], now: str) -> bool:
        return (
            self.db.execute(
                "UPDATE jobs SET status = ?, progress = ?, result = ?, finished_at = ?, heartbeat_at = ?, "
                "message = ? WHERE job_id = ? AND status = ?",
                (SUCCEEDED, 1.0, encode(result), now, now, "done", job_id, RUNNING),
            )
            == 1
        )

    def fail(self, job_id: str, error: str, now: str) -> bool:
        return (
            self.db.execute(
                "UPDATE jobs SET status = ?, error = ?, finished_at = ?, heartbeat_at = ?, message = ? "
                "WHERE job_id = ? AND status = ?",
                (FAILED, error, now, now, "failed", job_id, RUNNING),
            )
            == 1
        )

    def cancel(self, job_id: str, was: str, message: str, now: str) -> bool:
        return (
            self.db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, message = ? WHERE job_id = ? AND status = ?",
                (CANCELLED, now, message, job_id, was),
            )
            == 1
        )

    def stale(self, cutoff: str) -> list[Job]:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM jobs WHERE status = ? "
            "AND (heartbeat_at < ? OR (heartbeat_at IS NULL AND started_at < ?))",
            (RUNNING, cutoff, cutoff),
        )
        return [_job(row) for row in rows]

    def reap(self, job_id: str, seen: str | None, error: str, now: str) -> bool:
        return (
            self.db.execute(
                "UPDATE jobs SET status = ?, error = ?, finished_at = ?, message = ? "
                "WHERE job_id = ? AND status = ? AND (heartbeat_at = ? OR heartbeat_at IS NULL)",
                (FAILED, error, now, "failed", job_id, RUNNING, seen),
            )
            == 1
        )

    def requeue(self, job_id: str, seen: str | None, error: str, message: str) -> bool:
        return (
            self.db.execute(
                "UPDATE jobs SET status = ?, error = ?, message = ?, progress = ?, worker = NULL, "
                "started_at = NULL, heartbeat_at = NULL "
                "WHERE job_id = ? AND status = ? AND (heartbeat_at = ? OR heartbeat_at IS NULL)",
                (QUEUED, error, message, 0.0, job_id, RUNNING, seen),
            )
            == 1
        )
