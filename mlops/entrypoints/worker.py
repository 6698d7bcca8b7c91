"""The background worker: reap stale jobs, claim the next one, run its handler in-process with a
heartbeat thread beside it, and record how it ended (succeeded with its result, failed with
the error text, or left cancelled). `Worker.run_once` does one round; `Worker.run` loops.
Each handler gets the worker's composition root (`services`) as its third argument, so a build
runs on the same warehouse, store and settings as the worker that claimed it; with
`SEA_BUILD_TARGET=sagemaker` a build job is submitted to SageMaker Training and watched instead."""

from __future__ import annotations

import os
import socket
import threading
import traceback
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlops.adapters.warehouse.base import Warehouse
from mlops.services import jobs
from mlops.services.jobs import Job, JobCancelled

if TYPE_CHECKING:
    from mlops.bootstrap import Bootstrap

DEFAULT_HEARTBEAT_S = 5.0
DEFAULT_STALE_AFTER_S = 60.0
DEFAULT_POLL_S = 2.0


def default_worker_id() -> str:
    """`host:pid:random` - unique per worker process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs queued jobs of `warehouse` one at a time in this process; `services` (the
    process's Bootstrap, whose warehouse `warehouse` is) is handed to each handler."""

    def __init__(
        self,
        warehouse: Warehouse,
        worker_id: str | None = None,
        *,
        services: Bootstrap | None = None,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        kinds: Sequence[str] | None = None,
    ) -> None:
        if heartbeat_s <= 0:
            raise ValueError(f"heartbeat_s must be positive, got {heartbeat_s}")
        if stale_after_s <= heartbeat_s:
            raise ValueError(
                f"stale_after_s ({stale_after_s}) must exceed heartbeat_s "
                f"({heartbeat_s}), or live jobs would be reaped"
            )
        self.warehouse = warehouse
        self.services = services
        self.worker_id = worker_id or default_worker_id()
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.kinds = list(kinds) if kinds else None
        self.stop_event = threading.Event()

    def run_once(self) -> Job | None:
        """Reap stale jobs, then claim and run at most one job; returns it as it ended, or
        None when nothing was queued."""
        jobs.reap_stale(self.warehouse, self.stale_after_s)
        job = jobs.claim_next(self.warehouse, self.worker_id, self.kinds)
        if job is None:
            return None
        self.execute(job)
        return jobs.get(self.warehouse, job.job_id)

    def execute(self, job: Job) -> None:
        """Run a claimed job's handler with a heartbeat thread; record success or failure."""
        beating = threading.Event()
        thread = threading.Thread(
            target=self._beat, args=(job.job_id, beating), name=f"heartbeat-{job.job_id[:8]}", daemon=True
        )
        thread.start()
        try:
            handler = self.handler_for(job)

            def progress(fraction: float, message: str = "") -> None:
                jobs.report_progress(self.warehouse, job.job_id, fraction, message)

            result: Any = handler(job, progress, self.services)
            if result is None:
                result = {}
            if not isinstance(result, dict):
                raise TypeError(f"the {job.kind!r} handler returned {type(result).__name__}, not a dict")
        except JobCancelled:
            return  # cancelled or reaped meanwhile: that status stands
        except Exception as exc:  # any handler failure fails the job, with its text
            jobs.fail(self.warehouse, job.job_id, self._error_text(exc))
            return
        finally:
            beating.set()
            thread.join()
            jobs.remove_scratch(job.job_id)
        jobs.finish(self.warehouse, job.job_id, result)

    def handler_for(self, job: Job) -> jobs.Handler:
        """The job's handler; builds go to SageMaker Training when `build_target` says so."""
        if self.services is not None and self.services.settings.build_target == "sagemaker":
            from mlops.services import remote_build

            if remote_build.is_build_job(job.kind):
                return remote_build.run_sagemaker_build
        return jobs.handler_for(job.kind)

    @staticmethod
    def _error_text(exc: BaseException) -> str:
        last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
        return f"{type(exc).__name__}: {exc}{where}"

    def _beat(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(self.heartbeat_s):
            try:
                if not jobs.heartbeat(self.warehouse, job_id):
                    return  # no longer running: the handler learns at its next progress report
            except Exception:  # a missed beat is retried next interval
                continue

    def run(self, poll_s: float = DEFAULT_POLL_S, max_jobs: int | None = None) -> int:
        """Run jobs until `stop()` (or `max_jobs` jobs); sleeps `poll_s` when the queue is
        empty. Returns the number of jobs run."""
        count = 0
        while not self.stop_event.is_set() and (max_jobs is None or count < max_jobs):
            if self.run_once() is None:
                self.stop_event.wait(poll_s)
            else:
                count += 1
        return count

    def stop(self) -> None:
        """Stop after the current job."""
        self.stop_event.set()
