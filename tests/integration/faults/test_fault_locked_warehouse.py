"""A locked warehouse during serving: `PredictionLog.log` (with its background thread, as the
server and the app run it) only queues the record, so it returns while another connection
still holds the SQLite write lock; the record arrives once the lock is released."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from mlops.adapters.store.local import LocalStore
from mlops.adapters.warehouse import open_warehouse
from mlops.services.prediction_log import PredictionLog

pytestmark = pytest.mark.fault


def record(i: int) -> dict:
    return {
        "modelVersion": "1.0.0",
        "timestamp": "2026-11-27T10:00:00",
        "requestId": f"req-{i}",
        "original_input": f"text {i}",
        "skillExtractOutput": [],
    }


def test_log_returns_while_the_warehouse_is_locked(tmp_path):
    path = tmp_path / "locked.db"
    warehouse = open_warehouse(f"sqlite:///{path}")
    warehouse.init_schema()
    log = PredictionLog(
        warehouse,
        LocalStore(tmp_path / "store"),
        tmp_path / "queue",
        retry_interval_s=0.2,
        flush_interval_s=0.2,
    )
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # held far longer than any request may wait
        returned = threading.Event()
        caller = threading.Thread(target=lambda: (log.log(record(1), "prod", 1.0), returned.set()))
        caller.start()
        caller.join(timeout=20)  # the warehouse's busy timeout is 30 s
        assert returned.is_set(), "log() waited on the locked warehouse"
        assert blocker.in_transaction  # the lock was still held when log() returned
        assert log.pending()["warehouse"] == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    deadline = time.monotonic() + 60
    while log.pending()["warehouse"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert warehouse.scalar("SELECT COUNT(*) FROM prediction_requests") == 1
    log.close()
    warehouse.close()
