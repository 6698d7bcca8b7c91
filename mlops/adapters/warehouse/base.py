"""The warehouse interface: one small SQL API over SQLite and Redshift (PostgreSQL wire protocol).

SQL is written once, in the subset Redshift and PostgreSQL and SQLite all accept, with `?`
placeholders; each adapter converts them to its driver's style. Ids are client-generated
strings (uuid4 hex or content hashes); timestamps are ISO-8601 UTC strings, with `day`
(`YYYY-MM-DD`) and `week` (`YYYY-Www`) columns written beside them so that bucketing needs no
dialect-specific date functions.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class WarehouseError(RuntimeError):
    """The warehouse could not be reached or a statement failed; the message says which."""


class Session(ABC):
    """Statements inside one transaction."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the affected row count (-1 when unknown)."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], batch_size: int = 5000) -> int:
        """Run one INSERT for many rows, sent in batches (not one round trip per row)."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a SELECT; rows as dicts keyed by lower-case column names."""

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a SELECT, or None."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.query_one(sql, params)
        return None if row is None else next(iter(row.values()))


class Warehouse(Session):
    """A warehouse connection. Outside `transaction()` each statement commits on its own.

    Capability flags say what the SQL may rely on, so that callers never check the dialect:
    `supports_indexes` (CREATE INDEX; Redshift sorts and distributes instead) and
    `native_percentiles` (PERCENTILE_CONT ... WITHIN GROUP; SQLite has none).
    """

    dialect: str = "generic"  # for messages and contract tests only: callers use the flags
    supports_indexes: bool = True
    native_percentiles: bool = False

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """All statements in the block commit together, or none do (rollback on exception)."""

    @contextmanager
    def lock(self, *tables: str, session: Session | None = None) -> Iterator[Session]:
        """A transaction holding the write locks of `tables` until it ends (check-then-insert
        without duplicates across processes). With `session` (an open transaction) the locks
        are taken in it and it is yielded as it is."""
        for table in tables:
            if not _NAME.match(table):
                raise WarehouseError(f"not a table name: {table!r}")
        if session is not None:
            self._take_locks(session, tables)
            yield session
            return
        with self.transaction() as tx:
            self._take_locks(tx, tables)
            yield tx

    def _take_locks(self, session: Session, tables: Sequence[str]) -> None:
        """Lock `tables` inside `session` (default: `LOCK <table>`, which Redshift and
        PostgreSQL accept)."""
        for table in tables:
            session.execute(f"LOCK {table}")

    @abstractmethod
    def init_schema(self) -> None:
        """Create or upgrade the schema; idempotent and safe to run twice at once."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def ping(self) -> bool:
        """True when the warehouse answers a trivial query."""
        try:
            return self.scalar("SELECT 1") is not None
        except Exception:  # any failure means "not reachable"
            return False
