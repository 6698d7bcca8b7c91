"""Fair sharing of one model between concurrent requests.

- **Bounded:** at most `limit` requests are admitted at once (running or waiting for the
  model); one more is refused with `QueueFull` (the server answers 503 with `Retry-After`).
- **Fair:** a request's work is a series of units (one text each); units run one at a time
  (the tokenizer is not thread-safe, and torch uses every core for one text), and waiting
  units are served first come, first served. A request that has run a unit queues again behind
  every unit that arrived meanwhile, so requests take turns round-robin: a one-text request
  waits for at most one unit of each request ahead of it, never for a whole large batch.
- **Cancellable:** an admitted request carries a `client_gone` check; it is called before each
  unit and while waiting for a turn, and when it says the client is gone the remaining units
  are cancelled (`WorkCancelled`).

Units run on the caller's thread: `admit()` gives an `Admission`, whose `turn` is the context
manager to hold around each unit (`mlops.services.prediction.predict` takes it as `lock`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

DEFAULT_RETRY_AFTER_S = 1
#: How often a waiting request checks whether its client is still there.
POLL_INTERVAL_S = 0.2


class QueueFull(RuntimeError):
    """As many requests as the queue holds are already admitted; retry after `retry_after_s`."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(f"the inference queue is full ({limit} requests); retry in {retry_after_s} s")
        self.limit = limit
        self.retry_after_s = retry_after_s


class WorkCancelled(RuntimeError):
    """The client of a request is gone: its remaining units were not run."""


@dataclass(frozen=True)
class SchedulerCounts:
    """What a scheduler has done so far (monitoring, tests)."""

    admitted: int  # requests admitted now (running or waiting)
    waiting: int  # units waiting for the model now
    units_run: int  # units run since start
    cancelled: int  # requests cancelled since start (client gone)
    refused: int  # requests refused since start (queue full)


class InferenceScheduler:
    """Admits up to `limit` requests and runs their units one at a time, round-robin."""

    def __init__(
        self,
        limit: int,
        *,
        retry_after_s: int = DEFAULT_RETRY_AFTER_S,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        if limit < 1:
            raise ValueError(f"the queue limit must be at least 1, got {limit}")
        if retry_after_s < 1:
            raise ValueError(f"retry_after_s must be at least 1, got {retry_after_s}")
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.poll_interval_s = poll_interval_s
        self._condition = threading.Condition()
        self._waiting: deque[object] = deque()  # one ticket per unit waiting, in arrival order
        self._busy = False
        self._admitted = 0
        self._units_run = 0
        self._cancelled = 0
        self._refused = 0

    def admit(self, client_gone: Callable[[], bool] | None = None) -> Admission:
        """A place in the queue for one request, or `QueueFull` when every place is taken.
        Use it as a context manager: leaving it frees the place."""
        with self._condition:
            if self._admitted >= self.limit:
                self._refused += 1
                raise QueueFull(self.limit, self.retry_after_s)
            self._admitted += 1
        return Admission(self, client_gone or _never)

    def counts(self) -> SchedulerCounts:
        """A snapshot of the counters."""
        with self._condition:
            return SchedulerCounts(
                self._admitted, len(self._waiting), self._units_run, self._cancelled, self._refused
            )

    # -- used by Admission ----------------------------------------------------------------
    def _release(self) -> None:
        with self._condition:
            self._admitted -= 1

    def _acquire(self, ticket: object, client_gone: Callable[[], bool]) -> None:
        """Wait until `ticket` is first in line and the model is free, then take the model."""
        with self._condition:
            self._waiting.append(ticket)
        try:
            while True:
                if client_gone():  # outside the lock: it may touch a socket
                    raise WorkCancelled("the client is gone")
                with self._condition:
                    if not self._busy and self._waiting[0] is ticket:
                        self._waiting.popleft()
                        self._busy = True
                        return
                    self._condition.wait(self.poll_interval_s)
        except BaseException:
            with self._condition:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._condition.notify_all()
            raise

    def _done(self) -> None:
        with self._condition:
            self._busy = False
            self._units_run += 1
            self._condition.notify_all()

    def _count_cancelled(self) -> None:
        with self._condition:
            self._cancelled += 1


class Admission:
    """One admitted request: a context manager for its place in the queue; `turn` is held
    around each of its units."""

    def __init__(self, scheduler: InferenceScheduler, client_gone: Callable[[], bool]) -> None:
        self._scheduler = scheduler
        self._client_gone = client_gone
        self._released = False
        self.units_run = 0
        self.turn = _Turn(self)

    def __enter__(self) -> Admission:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()
        if isinstance(error, WorkCancelled):
            self._scheduler._count_cancelled()

    def release(self) -> None:
        """Free the place in the queue (once; later calls do nothing)."""
        if not self._released:
            self._released = True
            self._scheduler._release()


class _Turn:
    """The model for one unit: entering waits for the turn (or raises WorkCancelled)."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission

    def __enter__(self) -> None:
        admission = self._admission
        if admission._released:
            raise RuntimeError("the request's place in the queue was already released")
        admission._scheduler._acquire(object(), admission._client_gone)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._admission.units_run += 1
        self._admission._scheduler._done()


def _never() -> bool:
    return False
