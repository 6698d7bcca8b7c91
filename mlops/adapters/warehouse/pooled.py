"""What the SQLite and Redshift adapters share: a small thread-safe pool of DB-API connections,
transactions, error wrapping, dropped-connection handling and INSERT batching.

Each public call borrows a connection from the pool (or opens one), runs, and gives it back;
`transaction()` holds one connection for the whole block. A connection that failed with a
connection-level error is thrown away, so the next call opens a fresh one (reconnect). Reads
outside a transaction are retried once on a fresh connection; writes never are (they may have
run), they raise `ConnectionLost`. A statement refused because of the values it carries (a
data or integrity error, text the driver cannot encode) raises `DataRejected`: sending the same
values again fails again, while any other `WarehouseError` may pass on a later try.
"""

from __future__ import annotations

import re
import threading
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

from mlops.adapters.warehouse import schema
from mlops.adapters.warehouse.base import Session, Warehouse, WarehouseError


class ConnectionLost(WarehouseError):
    """The connection broke during a call (server restart, network); the next call reconnects."""


class DataRejected(WarehouseError):
    """The warehouse refused a statement because of its values (e.g. U+0000 in PostgreSQL text,
    a number out of range); the same values will be refused again."""


_INSERT_VALUES = re.compile(
    r"^\s*(INSERT\s+INTO\s+.+?\bVALUES)\s*(\(.*\))\s*;?\s*$", re.IGNORECASE | re.DOTALL
)


def split_insert(sql: str) -> tuple[str, str]:
    """`INSERT INTO t (a, b) VALUES (?, ?)` -> (`INSERT INTO t (a, b) VALUES`, `(?, ?)`).

    Raises WarehouseError for anything else: batched writes are INSERTs with one VALUES row.
    """
    match = _INSERT_VALUES.match(sql)
    if not match or "?" not in match.group(2):
        raise WarehouseError(
            "executemany takes one `INSERT INTO table (columns) VALUES (?, ...)` statement; got: "
            + _short(sql)
        )
    return match.group(1), match.group(2)


def chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    """Consecutive lists of at most `size` rows (the input is consumed lazily)."""
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _short(sql: str, limit: int = 160) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class PooledSession(Session):
    """Statements on one borrowed connection (inside a transaction, or a single autocommit call)."""

    def __init__(self, warehouse: PooledWarehouse, connection: Any) -> None:
        self._warehouse = warehouse
        self._connection = connection
        self.broken = False

    @property
    def warehouse(self) -> PooledWarehouse:
        """The warehouse this session belongs to."""
        return self._warehouse

    def _fail(self, exc: Exception, sql: str) -> WarehouseError:
        if self._warehouse._is_disconnect(exc):
            self.broken = True
            return ConnectionLost(
                f"lost the connection to {self._warehouse.describe()} while running "
                f"`{_short(sql)}`: {exc}; the next call reconnects"
            )
        kind = DataRejected if self._warehouse._is_data_error(exc) else WarehouseError
        return kind(
            f"{self._warehouse.describe()}: `{_short(sql)}` failed: {exc}{self._warehouse._hint(exc)}"
        )

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        try:
            cursor = self._warehouse._cursor(self._connection)
            cursor.execute(sql, self._warehouse._adapt_params(params))
            return cursor
        except WarehouseError:
            raise
        except Exception as exc:  # every driver error becomes a WarehouseError
            raise self._fail(exc, sql) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = self._run(sql, params)
        count = getattr(cursor, "rowcount", -1)
        return -1 if count is None else int(count)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self._run(sql, params)
        try:
            if not cursor.description:
                return []
            names = [column[0].lower() for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        except Exception as exc:  # every driver error becomes a WarehouseError
            raise self._fail(exc, sql) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], batch_size: int = 5000) -> int:
        if batch_size < 1:
            raise WarehouseError(f"batch_size must be at least 1, got {batch_size}")
        head, row_sql = split_insert(sql)
        try:
            return self._warehouse._insert_batches(self._connection, head, row_sql, rows, batch_size)
        except WarehouseError:
            raise
        except Exception as exc:  # every driver error becomes a WarehouseError
            raise self._fail(exc, sql) from exc


class PooledWarehouse(Warehouse):
    """A Warehouse over a DB-API driver; subclasses say how to connect and what errors mean."""

    max_idle = 4
    begin_sql = "BEGIN"

    def __init__(self) -> None:
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False

    # -- what each driver supplies -------------------------------------------------------------
    @abstractmethod
    def describe(self) -> str:
        """Where this warehouse is, for messages (never includes a password)."""

    @abstractmethod
    def _connect(self) -> Any:
        """A new autocommit DB-API connection; raises WarehouseError when unreachable."""

    @abstractmethod
    def _is_disconnect(self, exc: Exception) -> bool:
        """True when the error means the connection is unusable."""

    @abstractmethod
    def _insert_batches(
        self, connection: Any, head: str, row_sql: str, rows: Iterable[Sequence[Any]], batch_size: int
    ) -> int:
        """Insert rows in batches (no per-row round trips); returns the row count."""

    def _is_data_error(self, exc: Exception) -> bool:
        """True when the error is about the statement's values (see `DataRejected`); by
        default: text the driver cannot encode, a number it cannot convert."""
        return isinstance(exc, (UnicodeError, OverflowError))

    def _cursor(self, connection: Any) -> Any:
        return connection.cursor()

    def _hint(self, exc: Exception) -> str:
        """Extra advice appended to an error message (empty by default)."""
        return ""

    def _adapt_params(self, params: Sequence[Any]) -> Sequence[Any] | None:
        """The statement's parameters as the driver takes them (None: the driver wants none)."""
        return tuple(params)

    # -- the pool ------------------------------------------------------------------------------
    def _acquire(self) -> Any:
        if self._closed:
            raise WarehouseError(f"{self.describe()} is closed")
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _release(self, connection: Any, broken: bool) -> None:
        if not broken and not self._closed:
            with self._lock:
                if len(self._idle) < self.max_idle:
                    self._idle.append(connection)
                    return
        self._close_quietly(connection)

    @staticmethod
    def _close_quietly(connection: Any) -> None:
        try:
            connection.close()
        except Exception:  # it is being thrown away
            pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            self._close_quietly(connection)

    def init_schema(self) -> None:
        schema.apply(self)

    # -- transactions and single statements ----------------------------------------------------
    def _begin(self) -> PooledSession:
        """A session with an open transaction; a stale pooled connection is replaced once."""
        for attempt in (1, 2):
            session = PooledSession(self, self._acquire())
            try:
                session.execute(self.begin_sql)
                return session
            except ConnectionLost:
                self._release(session._connection, broken=True)
                if attempt == 2:
                    raise
            except BaseException:
                self._release(session._connection, broken=session.broken)
                raise
        raise AssertionError("unreachable")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self._begin()
        connection = session._connection
        try:
            yield session
            session.execute("COMMIT")
        except BaseException:
            if not session.broken:
                try:
                    self._cursor(connection).execute("ROLLBACK")
                except Exception:  # the original error matters more; a connection
                    session.broken = True  # in an unknown transaction state is not reused
            raise
        finally:
            self._release(connection, session.broken)

    @contextmanager
    def _autocommit(self) -> Iterator[PooledSession]:
        connection = self._acquire()
        session = PooledSession(self, connection)
        try:
            yield session
        finally:
            self._release(connection, session.broken)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._autocommit() as session:
            return session.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], batch_size: int = 5000) -> int:
        with self.transaction() as session:  # all batches or none
            return session.executemany(sql, rows, batch_size)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            with self._autocommit() as session:
                return session.query(sql, params)
        except ConnectionLost:  # a pooled connection went stale: one retry on a fresh one
            with self._autocommit() as session:
                return session.query(sql, params)
