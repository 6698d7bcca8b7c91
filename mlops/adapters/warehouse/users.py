"""The accounts' repository: local users with their password hash, roles and sign-in throttle."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlops.adapters.warehouse.base import Session
from mlops.domain.clock import parse_timestamp, utc


@dataclass(frozen=True)
class StoredUser:
    """One account as stored (the hash included: never shown)."""

    username: str
    password_hash: str
    roles: frozenset[str]
    created_at: str = ""
    disabled: bool = False
    failed_logins: int = 0
    locked_until: str | None = None

    def locked_for_s(self, now: datetime | None = None) -> float:
        """Seconds the sign-in lock still holds at `now` (0 when not locked)."""
        until = parse_timestamp(self.locked_until)
        return 0.0 if until is None else max(0.0, (utc(until) - utc(now)).total_seconds())

    def is_locked(self, now: datetime | None = None) -> bool:
        """True while the sign-in lock holds."""
        return self.locked_for_s(now) > 0


class UserRepository(ABC):
    """Where accounts are stored."""

    @abstractmethod
    def get(self, username: str) -> StoredUser | None:
        """The account, or None."""

    @abstractmethod
    def all(self) -> list[StoredUser]:
        """Every account, by name."""

    @abstractmethod
    def add(self, user: StoredUser) -> None:
        """Store a new account."""

    @abstractmethod
    def set_roles(self, username: str, roles: list[str]) -> None:
        """Replace the roles."""

    @abstractmethod
    def set_password_hash(self, username: str, password_hash: str) -> None:
        """Replace the hash and clear the sign-in throttle."""

    @abstractmethod
    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable or enable the account."""

    @abstractmethod
    def set_failures(self, username: str, failed_logins: int, locked_until: str | None) -> None:
        """The wrong-password count and the lock's end (None: not locked)."""

    @abstractmethod
    def add_failure(self, username: str) -> int:
        """Add one to the wrong-password count (the increment is done by the store, not read
        and written back); returns the new count. Call it inside a transaction holding the
        `users` lock, with the read that decided it."""


def _roles_of(raw: Any) -> frozenset[str]:
    """Roles stored as a JSON list (older rows: comma-separated)."""
    raw = raw or "[]"
    try:
        roles = json.loads(raw)
    except ValueError:
        roles = [r for r in str(raw).split(",") if r]
    return frozenset(str(r) for r in roles)


def _user(row: Mapping[str, Any]) -> StoredUser:
    return StoredUser(
        row["username"],
        row.get("password_hash") or "",
        _roles_of(row.get("roles")),
        row.get("created_at") or "",
        bool(int(row.get("disabled") or 0)),
        int(row.get("failed_logins") or 0),
        row.get("locked_until"),
    )


class SqlUserRepository(UserRepository):
    """The `users` table."""

    _COLUMNS = "username, password_hash, roles, created_at, disabled, failed_logins, locked_until"

    def __init__(self, db: Session) -> None:
        self.db = db

    def get(self, username: str) -> StoredUser | None:
        row = self.db.query_one(f"SELECT {self._COLUMNS} FROM users WHERE username = ?", (username,))
        return None if row is None else _user(row)

    def all(self) -> list[StoredUser]:
        return [_user(r) for r in self.db.query(f"SELECT {self._COLUMNS} FROM users ORDER BY username")]

    def add(self, user: StoredUser) -> None:
        self.db.execute(
            f"INSERT INTO users ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                user.username,
                user.password_hash,
                json.dumps(sorted(user.roles)),
                user.created_at,
                int(user.disabled),
                user.failed_logins,
                user.locked_until,
            ),
        )

    def set_roles(self, username: str, roles: list[str]) -> None:
        self.db.execute("UPDATE users SET roles = ? WHERE username = ?", (json.dumps(roles), username))

    def set_password_hash(self, username: str, password_hash: str) -> None:
        self.db.execute(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE username = ?",
            (password_hash, username),
        )

    def set_disabled(self, username: str, disabled: bool) -> None:
        self.db.execute("UPDATE users SET disabled = ? WHERE username = ?", (int(bool(disabled)), username))

    def set_failures(self, username: str, failed_logins: int, locked_until: str | None) -> None:
        self.db.execute(
            "UPDATE users SET failed_logins = ?, locked_until = ? WHERE username = ?",
            (failed_logins, locked_until, username),
        )

    def add_failure(self, username: str) -> int:
        # No RETURNING (Redshift has none): the increment and the read back share the caller's
        # locked transaction.
        self.db.execute(
            "UPDATE users SET failed_logins = COALESCE(failed_logins, 0) + 1 WHERE username = ?", (username,)
        )
        return int(self.db.scalar("SELECT failed_logins FROM users WHERE username = ?", (username,)) or 0)
