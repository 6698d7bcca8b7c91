"""A 0-byte `sea.db` (e.g. truncated) is refused with a clear message, never taken for a new
warehouse; a missing file still is a new one."""

from __future__ import annotations

import pytest

from mlops.adapters.warehouse import WarehouseError, open_warehouse
from mlops.adapters.warehouse import sqlite as sqlite_adapter


def test_a_zero_byte_database_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_adapter, "EMPTY_GRACE_S", 0.1)
    path = tmp_path / "sea.db"
    path.write_bytes(b"")
    warehouse = open_warehouse(f"sqlite:///{path}")
    with pytest.raises(WarehouseError, match=r"empty \(0-byte\) file.*Restore it from a backup"):
        warehouse.init_schema()
    assert path.stat().st_size == 0  # untouched
    warehouse.close()


def test_a_missing_database_file_is_a_new_warehouse(tmp_path):
    warehouse = open_warehouse(f"sqlite:///{tmp_path / 'new' / 'sea.db'}")
    warehouse.init_schema()
    assert warehouse.scalar("SELECT COUNT(*) FROM users") == 0
    warehouse.close()
