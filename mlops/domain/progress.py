"""Progress of long work with an estimate of the time left: a stage of a job maps its own
fraction (items evaluated, skills encoded, training steps) onto its share of the job's progress
bar and appends "about N s left" extrapolated from the stage's rate so far."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: `report(fraction of the whole job, message)`, the jobs' progress callback.
Report = Callable[[float, str], None]


def eta_seconds(elapsed: float, fraction: float) -> float | None:
    """Seconds left at the rate so far (`elapsed` seconds for `fraction` of the work); None
    before any work is done (no rate yet), 0 once it is all done."""
    if fraction <= 0 or elapsed < 0:
        return None
    if fraction >= 1:
        return 0.0
    return elapsed * (1 - fraction) / fraction


def format_eta(seconds: float | None) -> str:
    """ "about 40 s left", "about 3 min left", "about 1 h 5 min left"; "" when unknown or none
    is left."""
    if seconds is None or seconds <= 0:
        return ""
    whole = int(round(seconds))
    if whole < 60:
        return f"about {max(whole, 1)} s left"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60} min left"


def format_elapsed(seconds: float) -> str:
    """ "running 45 s", "running 3 min 5 s", "running 1 h 2 min"."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"running {whole} s"
    if whole < 3600:
        return f"running {whole // 60} min {whole % 60} s"
    return f"running {whole // 3600} h {whole % 3600 // 60} min"


@dataclass
class StageProgress:
    """One stage of a job, owning [`start`, `end`] of its progress bar. Call it with the stage's
    own fraction and message, or use `items(done, total, what)`; each report carries the stage's
    estimated time left (from when the stage object was made)."""

    report: Report
    start: float
    end: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.start <= self.end <= 1.0:
            raise ValueError(f"a stage spans 0 <= start <= end <= 1, got {self.start}..{self.end}")
        self.started = self.clock()

    def __call__(self, fraction: float, message: str) -> None:
        """Report `fraction` (0..1, clamped) of this stage done, with `message` and the time left."""
        fraction = min(max(fraction, 0.0), 1.0)
        eta = format_eta(eta_seconds(self.clock() - self.started, fraction))
        self.report(self.start + (self.end - self.start) * fraction, f"{message} ({eta})" if eta else message)

    def items(self, done: int, total: int, what: str) -> None:
        """Report `done` of `total` items ("12/40 items evaluated")."""
        self(done / total if total > 0 else 1.0, f"{done}/{total} {what}")
