"""The embedded warehouse: one SQLite file (stdlib `sqlite3`), WAL mode, safe across threads
and processes (pooled connections, busy timeout, `BEGIN IMMEDIATE` for transactions).

A missing file is a new warehouse; an existing 0-byte file is refused (SQLite would take it for
an empty database, hiding a truncated one), unless it grows within `EMPTY_GRACE_S` (another
process creating it at that moment)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mlops.adapters.warehouse.base import WarehouseError
from mlops.adapters.warehouse.pooled import PooledWarehouse, chunks

BUSY_TIMEOUT_S = 30.0
EMPTY_GRACE_S = 2.0


def sqlite_path(url: str) -> Path:
    """`sqlite:///relative/file.db` or `sqlite:////absolute/file.db` -> the file path."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise WarehouseError(f"not a SQLite URL (sqlite:///path/to/file.db): {url!r}")
    return Path(url[len(prefix) :])


class SQLiteWarehouse(PooledWarehouse):
    """A SQLite file; the parent folder is created on first connect."""

    dialect = "sqlite"
    begin_sql = "BEGIN IMMEDIATE"  # take the write lock up front: no lock-upgrade deadlocks
    supports_indexes = True
    native_percentiles = False

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._file_checked = False

    @classmethod
    def from_url(cls, url: str) -> SQLiteWarehouse:
        """Open `sqlite:///path` (nothing is touched until the first statement)."""
        return cls(sqlite_path(url))

    def describe(self) -> str:
        return f"SQLite warehouse {self.path}"

    def _check_not_empty(self) -> None:
        """Refuse an existing 0-byte file (once per warehouse object)."""
        deadline = time.monotonic() + EMPTY_GRACE_S
        while self.path.is_file() and self.path.stat().st_size == 0:
            if time.monotonic() >= deadline:
                raise WarehouseError(
                    f"{self.describe()} is an empty (0-byte) file, not a SQLite database: it "
                    "may have been truncated. Restore it from a backup, or delete it to start "
                    "a new, empty warehouse"
                )
            time.sleep(0.05)
        self._file_checked = True

    def _connect(self) -> sqlite3.Connection:
        if not self._file_checked:
            self._check_not_empty()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            return connection
        except (OSError, sqlite3.Error) as exc:
            raise WarehouseError(f"cannot open {self.describe()}: {exc}") from exc

    def _hint(self, exc: Exception) -> str:
        if "locked" in str(exc).lower():
            return (
                f" (another connection held the write lock for {BUSY_TIMEOUT_S:.0f} s; inside "
                "`with warehouse.transaction() as tx:` write through `tx`, not `warehouse`)"
            )
        return ""

    def _is_data_error(self, exc: Exception) -> bool:
        return super()._is_data_error(exc) or isinstance(exc, (sqlite3.DataError, sqlite3.IntegrityError))

    def _is_disconnect(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc).lower()

    def _insert_batches(
        self, connection: Any, head: str, row_sql: str, rows: Iterable[Sequence[Any]], batch_size: int
    ) -> int:
        # In-process: executemany over prepared rows is already the fast path (no round trips).
        cursor = connection.cursor()
        total = 0
        for batch in chunks(rows, batch_size):
            cursor.executemany(f"{head} {row_sql}", batch)
            total += len(batch)
        return total

    def _take_locks(self, session: Any, tables: Sequence[str]) -> None:
        """Nothing to take: `BEGIN IMMEDIATE` already holds the database's write lock."""
