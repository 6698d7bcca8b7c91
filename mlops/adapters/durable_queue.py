"""A local, durable, ordered queue in one SQLite file (stdlib `sqlite3`, WAL,
`synchronous=FULL`): an item that `put` returned for survives a crash of the process and of
the machine, until it is acknowledged. Safe across threads and processes.

Items belong to a topic (e.g. `warehouse`, `archive`) and are read oldest first; a consumer
`peek`s, delivers, then `ack`s, so delivery is at-least-once and consumers make it exactly-once
by delivering idempotently (keyed writes, deterministic object names).

An item its consumer cannot deliver (the destination refuses it) is `bury`-ed: moved, with the
reason, to the same file's dead letters, where it blocks nothing; `dead_letters` lists them and
`revive` puts them back at the end of their topic (e.g. after the cause was fixed).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS ix_items_topic ON items (topic, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    buried_at REAL NOT NULL
);
"""
MAX_ERROR_CHARS = 2000


class QueueError(RuntimeError):
    """The queue file cannot be opened or written; the message names it."""


def _inserted_seq(rowid: int | None) -> int:
    """The seq of an item an INSERT just added (sqlite3 reports None only for no insert)."""
    if rowid is None:
        raise QueueError("the queue did not report the seq of an inserted item")
    return rowid


@dataclass(frozen=True)
class QueueItem:
    """One queued item."""

    seq: int
    topic: str
    payload: str
    created_at: float
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class DeadLetter:
    """An item taken out of its topic because it could not be delivered, with the reason."""

    seq: int
    topic: str
    payload: str
    created_at: float
    attempts: int
    reason: str
    buried_at: float


class DurableQueue:
    """Ordered items per topic in `path` (created with its folder)."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._busy_timeout_s = busy_timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connection()
            connection.executescript(_SCHEMA)
            connection.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('queue_id', ?)", (uuid.uuid4().hex[:12],)
            )
            #: Random id of this queue file, fixed at its creation (names delivered batches).
            self.queue_id: str = connection.execute(
                "SELECT value FROM meta WHERE key = 'queue_id'"
            ).fetchone()[0]
        except (OSError, sqlite3.Error) as exc:
            raise QueueError(f"cannot open the queue {self.path}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            self._local.connection = connection
        return connection

    def _write(self, sql: str, rows: Sequence[Sequence]) -> list[int | None]:
        return self._write_all([(sql, row) for row in rows])

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one write transaction (QueueError on failure)."""
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")
        except BaseException as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise QueueError(f"cannot write to the queue {self.path}: {exc}") from exc
            raise

    def _write_all(self, statements: Sequence[tuple[str, Sequence]]) -> list[int | None]:
        """Run (sql, params) statements in one transaction; their lastrowids (None for a
        statement that inserted no row)."""
        with self._transaction() as connection:
            return [connection.execute(sql, row).lastrowid for sql, row in statements]

    def put_many(self, entries: Iterable[tuple[str, str]]) -> list[int]:
        """Append (topic, payload) entries in one durable transaction; returns their seqs."""
        now = time.time()
        rowids = self._write(
            "INSERT INTO items (topic, payload, created_at) VALUES (?, ?, ?)",
            [(topic, payload, now) for topic, payload in entries],
        )
        return [_inserted_seq(rowid) for rowid in rowids]

    def put(self, topic: str, payload: str) -> int:
        """Append one item; returns its seq."""
        return self.put_many([(topic, payload)])[0]

    def peek(self, topic: str, limit: int = 100) -> list[QueueItem]:
        """The oldest `limit` unacknowledged items of a topic, oldest first."""
        rows = (
            self._connection()
            .execute(
                "SELECT seq, topic, payload, created_at, attempts, last_error FROM items "
                "WHERE topic = ? ORDER BY seq LIMIT ?",
                (topic, limit),
            )
            .fetchall()
        )
        return [QueueItem(*row) for row in rows]

    def ack(self, seqs: Iterable[int]) -> None:
        """Remove delivered items."""
        self._write("DELETE FROM items WHERE seq = ?", [(seq,) for seq in seqs])

    def failed(self, seq: int, error: str) -> int:
        """Record a failed delivery attempt of an item (it stays queued); returns its attempts
        so far (0 when the item is gone)."""
        self._write(
            "UPDATE items SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
            [(error[:MAX_ERROR_CHARS], seq)],
        )
        row = self._connection().execute("SELECT attempts FROM items WHERE seq = ?", (seq,)).fetchone()
        return 0 if row is None else int(row[0])

    def bury(self, seq: int, reason: str) -> None:
        """Move an item to the dead letters with the reason (one transaction; no-op when gone)."""
        self._write_all(
            [
                (
                    "INSERT OR REPLACE INTO dead_letters (seq, topic, payload, created_at, attempts, "
                    "reason, buried_at) SELECT seq, topic, payload, created_at, attempts, ?, ? "
                    "FROM items WHERE seq = ?",
                    (reason[:MAX_ERROR_CHARS], time.time(), seq),
                ),
                ("DELETE FROM items WHERE seq = ?", (seq,)),
            ]
        )

    def dead_letters(self, topic: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Dead letters (of one topic, or all), oldest first."""
        where, args = ("WHERE topic = ? ", (topic,)) if topic is not None else ("", ())
        rows = (
            self._connection()
            .execute(
                "SELECT seq, topic, payload, created_at, attempts, reason, buried_at FROM dead_letters "
                f"{where}ORDER BY seq LIMIT ?",
                (*args, int(limit)),
            )
            .fetchall()
        )
        return [DeadLetter(*row) for row in rows]

    def dead_count(self, topic: str | None = None) -> int:
        """How many dead letters (of one topic, or all)."""
        if topic is None:
            return int(self._connection().execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])
        return int(
            self._connection()
            .execute("SELECT COUNT(*) FROM dead_letters WHERE topic = ?", (topic,))
            .fetchone()[0]
        )

    def revive(self, seqs: Iterable[int], payload_of: Callable[[str], str] = str) -> list[int]:
        """Put dead letters back at the end of their topic (attempts reset), each payload
        passed through `payload_of` (e.g. to repair it); returns their new seqs."""
        revived: list[int] = []
        with self._transaction() as connection:
            for seq in seqs:
                row = connection.execute(
                    "SELECT topic, payload, created_at FROM dead_letters WHERE seq = ?", (seq,)
                ).fetchone()
                if row is None:
                    continue
                revived.append(
                    _inserted_seq(
                        connection.execute(
                            "INSERT INTO items (topic, payload, created_at) VALUES (?, ?, ?)",
                            (row[0], payload_of(row[1]), row[2]),
                        ).lastrowid
                    )
                )
                connection.execute("DELETE FROM dead_letters WHERE seq = ?", (seq,))
        return revived

    def count(self, topic: str | None = None) -> int:
        """Unacknowledged items (of one topic, or all)."""
        if topic is None:
            return int(self._connection().execute("SELECT COUNT(*) FROM items").fetchone()[0])
        return int(
            self._connection().execute("SELECT COUNT(*) FROM items WHERE topic = ?", (topic,)).fetchone()[0]
        )

    def oldest_age_s(self, topic: str) -> float | None:
        """Seconds since the oldest item of a topic was queued (None when empty)."""
        row = (
            self._connection()
            .execute("SELECT MIN(created_at) FROM items WHERE topic = ?", (topic,))
            .fetchone()
        )
        return None if row[0] is None else max(0.0, time.time() - row[0])

    def close(self) -> None:
        """Close this thread's connection (other threads' close when they end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
