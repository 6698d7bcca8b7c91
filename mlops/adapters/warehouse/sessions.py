"""The web sessions' repository: the app's sign-in sessions, kept server-side so that a reload
keeps the user signed in (`mlops.services.web_sessions`). Only a SHA-256 of each secret is
stored; the secret itself lives in the browser's HTTP-only cookie (or, for a moment, in the
one-time claim link)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops.adapters.warehouse.base import Session

PENDING, ACTIVE = "pending", "active"


@dataclass(frozen=True)
class StoredSession:
    """One session as stored: `secret_hash` is the SHA-256 (hex) of the claim code while
    `state` is `pending`, of the cookie's session id once `active`."""

    secret_hash: str
    username: str
    method: str
    state: str
    created_at: str
    expires_at: str


class SessionRepository(ABC):
    """Where web sessions are stored."""

    @abstractmethod
    def add(self, session: StoredSession) -> None:
        """Store a new session."""

    @abstractmethod
    def get(self, secret_hash: str) -> StoredSession | None:
        """The session with this secret hash, or None."""

    @abstractmethod
    def take_pending(self, secret_hash: str, now: str) -> bool:
        """Delete the pending session with this hash if it has not expired at `now`; True when
        one was deleted (so that of two concurrent claims of one code only one succeeds)."""

    @abstractmethod
    def delete(self, secret_hash: str) -> int:
        """Delete the session with this hash; the number of rows deleted."""

    @abstractmethod
    def delete_user(self, username: str) -> int:
        """Delete every session of `username`; the number deleted."""

    @abstractmethod
    def delete_expired(self, now: str) -> int:
        """Delete every session that expired before `now`; the number deleted."""


def _session(row: Mapping[str, Any]) -> StoredSession:
    return StoredSession(
        row["secret_hash"],
        row["username"],
        row.get("method") or "local",
        row["state"],
        row.get("created_at") or "",
        row["expires_at"],
    )


class SqlSessionRepository(SessionRepository):
    """The `web_sessions` table."""

    _COLUMNS = "secret_hash, username, method, state, created_at, expires_at"

    def __init__(self, db: Session) -> None:
        self.db = db

    def add(self, session: StoredSession) -> None:
        self.db.execute(
            f"INSERT INTO web_sessions ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (
                session.secret_hash,
                session.username,
                session.method,
                session.state,
                session.created_at,
                session.expires_at,
            ),
        )

    def get(self, secret_hash: str) -> StoredSession | None:
        row = self.db.query_one(
            f"SELECT {self._COLUMNS} FROM web_sessions WHERE secret_hash = ?", (secret_hash,)
        )
        return None if row is None else _session(row)

    def take_pending(self, secret_hash: str, now: str) -> bool:
        deleted = self.db.execute(
            "DELETE FROM web_sessions WHERE secret_hash = ? AND state = ? AND expires_at > ?",
            (secret_hash, PENDING, now),
        )
        return deleted == 1

    def delete(self, secret_hash: str) -> int:
        return self.db.execute("DELETE FROM web_sessions WHERE secret_hash = ?", (secret_hash,))

    def delete_user(self, username: str) -> int:
        return self.db.execute("DELETE FROM web_sessions WHERE username = ?", (username,))

    def delete_expired(self, now: str) -> int:
        return self.db.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,))
