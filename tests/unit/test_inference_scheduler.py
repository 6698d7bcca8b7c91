"""The inference scheduler: a bounded queue of requests, one unit of work at a time, requests
taking turns between units, and the remaining units of a gone client cancelled."""

from __future__ import annotations

import threading

import pytest

from mlops.services.inference_scheduler import InferenceScheduler, QueueFull, WorkCancelled
from tests.waiting import wait_until

WAIT_S = 10.0


def run_units(scheduler, name: str, units: int, order: list[str], gates=None, client_gone=None):
    """Admit a request and run its units, appending `name<i>` to `order` for each; unit i
    first waits for `gates[i]` when given."""
    with scheduler.admit(client_gone) as admission:
        for index in range(units):
            with admission.turn:
                order.append(f"{name}{index}")
                if gates and index in gates:
                    assert gates[index].wait(WAIT_S)


def in_thread(target, *args, **kwargs) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run():
        try:
            target(*args, **kwargs)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


# -- happy path --------------------------------------------------------------------------------
def test_units_run_and_the_place_is_freed():
    scheduler = InferenceScheduler(2)
    order: list[str] = []
    run_units(scheduler, "a", 3, order)
    assert order == ["a0", "a1", "a2"]
    counts = scheduler.counts()
    assert (counts.admitted, counts.waiting, counts.units_run, counts.cancelled) == (0, 0, 3, 0)


@pytest.mark.parametrize(
    "running, queued, expected",
    [
        (("L", 4), [("S", 1)], ["L0", "S0", "L1", "L2", "L3"]),  # a small one between large units
        (("A", 3), [("B", 1), ("C", 1)], ["A0", "B0", "C0", "A1", "A2"]),  # waiting ones in arrival order
    ],
)
def test_waiting_requests_run_before_the_next_unit_of_the_running_one(running, queued, expected):
    scheduler = InferenceScheduler(4)
    order: list[str] = []
    hold = threading.Event()
    name, units = running
    threads = [in_thread(run_units, scheduler, name, units, order, {0: hold})]
    wait_until(lambda: order == [f"{name}0"], "the running request's first unit")
    for position, (name, units) in enumerate(queued, start=1):
        threads.append(in_thread(run_units, scheduler, name, units, order))
        wait_until(lambda: scheduler.counts().waiting == position, f"{name} to queue")
    hold.set()
    for thread, errors in threads:
        thread.join(WAIT_S)
        assert not errors
    assert order == expected


# -- negative path -----------------------------------------------------------------------------
@pytest.mark.parametrize("limit, retry", [(0, 1), (-1, 1), (1, 0)])
def test_bad_settings_are_refused(limit, retry):
    with pytest.raises(ValueError, match="at least 1"):
        InferenceScheduler(limit, retry_after_s=retry)


def test_a_turn_after_the_place_was_freed_is_refused():
    scheduler = InferenceScheduler(1)
    with scheduler.admit() as admission:
        pass
    with pytest.raises(RuntimeError, match="already released"), admission.turn:
        pass
    assert scheduler.counts().units_run == 0


def test_a_failing_unit_frees_the_model_for_the_next():
    scheduler = InferenceScheduler(1)
    with pytest.raises(ZeroDivisionError), scheduler.admit() as admission, admission.turn:
        _ = 1 / 0
    order: list[str] = []
    run_units(scheduler, "n", 1, order)
    assert order == ["n0"] and scheduler.counts().admitted == 0


# -- cancellation ------------------------------------------------------------------------------
def test_a_gone_client_stops_before_its_next_unit():
    scheduler = InferenceScheduler(2)
    gone = threading.Event()
    order: list[str] = []
    with pytest.raises(WorkCancelled), scheduler.admit(gone.is_set) as admission:
        for index in range(5):
            with admission.turn:
                order.append(f"u{index}")
                if index == 1:
                    gone.set()
    assert order == ["u0", "u1"]
    counts = scheduler.counts()
    assert (counts.units_run, counts.cancelled, counts.admitted) == (2, 1, 0)


def test_a_gone_client_leaves_the_line_while_waiting():
    scheduler = InferenceScheduler(3, poll_interval_s=0.01)
    order: list[str] = []
    hold = threading.Event()
    busy, _ = in_thread(run_units, scheduler, "B", 1, order, {0: hold})
    wait_until(lambda: order == ["B0"], "the model to be busy")
    gone = threading.Event()
    waiting, errors = in_thread(run_units, scheduler, "W", 2, order, client_gone=gone.is_set)
    wait_until(lambda: scheduler.counts().waiting == 1, "the second request to queue")
    gone.set()
    waiting.join(WAIT_S)
    assert len(errors) == 1 and isinstance(errors[0], WorkCancelled)
    assert scheduler.counts().waiting == 0  # it left the line while the model was still busy
    hold.set()
    busy.join(WAIT_S)
    assert order == ["B0"]
    assert scheduler.counts().cancelled == 1


# -- boundaries --------------------------------------------------------------------------------
def test_the_queue_holds_exactly_its_limit_then_refuses():
    scheduler = InferenceScheduler(2, retry_after_s=3)
    first, second = scheduler.admit(), scheduler.admit()
    with pytest.raises(QueueFull) as info:
        scheduler.admit()
    assert (info.value.limit, info.value.retry_after_s) == (2, 3)
    assert "full" in str(info.value) and "retry in 3 s" in str(info.value)
    first.release()
    first.release()  # a second release frees nothing more
    third = scheduler.admit()
    with pytest.raises(QueueFull):
        scheduler.admit()
    assert scheduler.counts().admitted == 2 and scheduler.counts().refused == 2
    second.release()
    third.release()
    assert scheduler.counts().admitted == 0


def test_a_queue_of_one_refuses_while_its_request_runs():
    scheduler = InferenceScheduler(1)
    with scheduler.admit() as admission, admission.turn, pytest.raises(QueueFull):
        scheduler.admit()
    with scheduler.admit():
        pass
