"""The background thread that retries the prediction log's deliveries every few seconds."""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)


class DeliveryThread:
    """Calls `deliver()` every `interval_s` seconds in a daemon thread until `stop()`; an
    exception is logged and the thread goes on."""

    def __init__(self, deliver: Callable[[], Any], interval_s: float, name: str = "prediction-log") -> None:
        self._deliver = deliver
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._deliver()
            except Exception:  # noqa: BLE001 - the thread must survive anything
                log.exception("prediction log background delivery failed")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop and wait for a delivery in progress (at most `timeout_s`)."""
        self._stop.set()
        self._thread.join(timeout=timeout_s)
