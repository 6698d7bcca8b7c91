"""The estimate of the time left and the stage progress of long jobs (mlops.domain.progress)."""

from __future__ import annotations

import pytest

from mlops.domain.progress import StageProgress, eta_seconds, format_elapsed, format_eta


@pytest.mark.parametrize(
    "elapsed, fraction, left",
    [
        (10.0, 0.25, 30.0),  # happy: a quarter in 10 s, three quarters to go
        (10.0, 0.5, 10.0),
        (10.0, 0.0, None),  # boundary: no work done, no rate yet
        (10.0, -0.1, None),  # negative fraction: unknown
        (10.0, 1.0, 0.0),  # boundary: all done
        (10.0, 1.5, 0.0),  # over-reported: done
        (0.0, 0.5, 0.0),  # instant work
    ],
)
def test_eta_extrapolates_the_rate_so_far(elapsed, fraction, left):
    assert eta_seconds(elapsed, fraction) == left


@pytest.mark.parametrize(
    "seconds, text",
    [
        (None, ""),
        (0.0, ""),  # boundary: nothing left
        (0.2, "about 1 s left"),
        (40.4, "about 40 s left"),
        (59.4, "about 59 s left"),
        (60.0, "about 1 min left"),  # boundary: a minute reads in minutes
        (185.0, "about 3 min left"),
        (3600.0, "about 1 h 0 min left"),
        (3900.0, "about 1 h 5 min left"),
    ],
)
def test_format_eta(seconds, text):
    assert format_eta(seconds) == text


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_stage_maps_its_fraction_onto_its_share_of_the_bar_with_the_time_left():
    seen: list[tuple[float, str]] = []
    clock = FakeClock()
    stage = StageProgress(lambda f, m: seen.append((f, m)), 0.2, 0.6, clock=clock)
    stage(0.0, "starting")
    clock.now += 30
    stage.items(10, 40, "items evaluated")
    clock.now += 90
    stage.items(40, 40, "items evaluated")
    assert seen[0] == (0.2, "starting")  # no rate yet: no estimate
    assert seen[1] == (pytest.approx(0.3), "10/40 items evaluated (about 2 min left)")  # 90 s
    assert seen[2] == (pytest.approx(0.6), "40/40 items evaluated")  # done: nothing left


def test_a_stage_clamps_fractions_and_counts_an_empty_stage_as_done():
    seen: list[tuple[float, str]] = []
    stage = StageProgress(lambda f, m: seen.append((f, m)), 0.5, 0.5, clock=FakeClock())
    stage(2.0, "over")
    stage(-1.0, "under")
    stage.items(0, 0, "skills encoded")
    assert [f for f, _ in seen] == [0.5, 0.5, 0.5]
    assert seen[2][1].startswith("0/0 skills encoded")


@pytest.mark.parametrize("start, end", [(-0.1, 0.5), (0.6, 0.5), (0.5, 1.1)])
def test_a_stage_outside_the_bar_is_refused(start, end):
    with pytest.raises(ValueError, match="0 <= start <= end <= 1"):
        StageProgress(lambda f, m: None, start, end)


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "running 0 s"), (59.9, "running 59 s"), (60, "running 1 min 0 s"), (3725, "running 1 h 2 min")],
)
def test_format_elapsed(seconds, text):
    assert format_elapsed(seconds) == text


def test_the_jobs_view_shows_time_running_and_the_stage_time_left():
    from datetime import UTC, datetime

    from mlops.entrypoints.ui.jobs_view import progress_text
    from mlops.services.jobs import Job

    now = datetime(2026, 1, 1, 0, 2, 5, tzinfo=UTC)
    running = Job(
        "j1",
        "build",
        "running",
        0.75,
        "12/40 evaluation texts encoded (about 30 s left)",
        started_at="2026-01-01T00:00:00.000Z",
    )
    assert progress_text(running, now) == (
        "build · running · running 2 min 5 s · 12/40 evaluation texts encoded (about 30 s left)"
    )
    queued = Job("j2", "build", "queued")
    assert progress_text(queued, now, highlight="j2") == "build · queued (just queued)"
