"""The service tokens' repository: named, role-scoped tokens for CI and cron, stored as the
sha256 of their secret (never the secret), revocable, optionally expiring."""

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
class StoredToken:
    """One token as stored (`secret_hash`: hex sha256 of the secret; never shown)."""

    token_id: str
    name: str
    secret_hash: str
    roles: frozenset[str]
    created_at: str
    created_by: str
    expires_at: str | None = None
    revoked_at: str | None = None
    revoked_by: str | None = None
    last_used_at: str | None = None

    def is_expired(self, now: datetime | None = None) -> bool:
        """True once `expires_at` has passed (never, without one)."""
        until = parse_timestamp(self.expires_at)
        return until is not None and utc(until) <= utc(now)

    def is_active(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired at `now`."""
        return self.revoked_at is None and not self.is_expired(now)


class TokenRepository(ABC):
    """Where service tokens are stored."""

    @abstractmethod
    def get(self, token_id: str) -> StoredToken | None:
        """The token with this id, or None."""

    @abstractmethod
    def named(self, name: str) -> list[StoredToken]:
        """Every token ever issued under `name`, oldest first."""

    @abstractmethod
    def all(self) -> list[StoredToken]:
        """Every token, by name, then oldest first."""

    @abstractmethod
    def add(self, token: StoredToken) -> None:
        """Store a new token."""

    @abstractmethod
    def revoke(self, token_id: str, at: str, by: str) -> None:
        """Mark the token revoked at `at` by `by`."""

    @abstractmethod
    def touch(self, token_id: str, at: str) -> None:
        """Record that the token was used at `at`."""


def _token(row: Mapping[str, Any]) -> StoredToken:
    return StoredToken(
        row["token_id"],
        row["name"],
        row["secret_hash"] or "",
        frozenset(str(r) for r in json.loads(row.get("roles") or "[]")),
        row.get("created_at") or "",
        row.get("created_by") or "",
        row.get("expires_at"),
        row.get("revoked_at"),
        row.get("revoked_by"),
        row.get("last_used_at"),
    )


class SqlTokenRepository(TokenRepository):
    """The `service_tokens` table."""

    _COLUMNS = (
        "token_id, name, secret_hash, roles, created_at, created_by, expires_at, revoked_at, "
        "revoked_by, last_used_at"
    )

    def __init__(self, db: Session) -> None:
        self.db = db

    def get(self, token_id: str) -> StoredToken | None:
        row = self.db.query_one(f"SELECT {self._COLUMNS} FROM service_tokens WHERE token_id = ?", (token_id,))
        return None if row is None else _token(row)

    def named(self, name: str) -> list[StoredToken]:
        rows = self.db.query(
            f"SELECT {self._COLUMNS} FROM service_tokens WHERE name = ? ORDER BY created_at, token_id",
            (name,),
        )
        return [_token(r) for r in rows]

    def all(self) -> list[StoredToken]:
        rows = self.db.query(
            f"SELECT {self._COLUMNS} FROM service_tokens ORDER BY name, created_at, token_id"
        )
        return [_token(r) for r in rows]

    def add(self, token: StoredToken) -> None:
        self.db.execute(
            f"INSERT INTO service_tokens ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                token.token_id,
                token.name,
                token.secret_hash,
                json.dumps(sorted(token.roles)),
                token.created_at,
                token.created_by,
                token.expires_at,
                token.revoked_at,
                token.revoked_by,
                token.last_used_at,
            ),
        )

    def revoke(self, token_id: str, at: str, by: str) -> None:
        self.db.execute(
            "UPDATE service_tokens SET revoked_at = ?, revoked_by = ? WHERE token_id = ?", (at, by, token_id)
        )

    def touch(self, token_id: str, at: str) -> None:
        self.db.execute("UPDATE service_tokens SET last_used_at = ? WHERE token_id = ?", (at, token_id))
