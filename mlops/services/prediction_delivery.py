"""The background thread that delivers the prediction log's queued records: at once when woken
(after each `log`), and every few seconds to retry what failed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class DeliveryThread:
    """Calls `deliver()` in a daemon thread when `wake()`-d and every `interval_s` seconds
    until `stop()`; an exception is logged and the thread goes on."""

    def __init__(self, deliver: Callable[[], Any], interval_s: float, name: str = "prediction-log") -> None:
        self._deliver = deliver
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._deliver()
            except Exception:  # the thread must survive anything
                log.exception("prediction log background delivery failed")

    def wake(self) -> None:
        """Deliver soon (returns at once; never waits for the delivery)."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop and wait for a delivery in progress (at most `timeout_s`)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=timeout_s)
