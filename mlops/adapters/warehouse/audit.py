"""The audit log's repository: append-only events (who did what, when, to what)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from mlops.adapters.warehouse.base import Session


@dataclass(frozen=True)
class AuditEvent:
    """One audit event; `details` decoded from JSON."""

    event_id: str
    at: str
    actor: str
    action: str
    target: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The event as a plain dict (the shape pages and reports read)."""
        return {
            "event_id": self.event_id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": dict(self.details),
        }


class AuditRepository(ABC):
    """Where audit events are appended and read back."""

    @abstractmethod
    def add(self, event: AuditEvent) -> None:
        """Append one event."""

    @abstractmethod
    def events(
        self,
        actor: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 500,
        target: str | None = None,
    ) -> list[AuditEvent]:
        """Events newest first (`at`, then `event_id`), filtered by actor, action, target and
        the inclusive time range (timestamp strings)."""


class SqlAuditRepository(AuditRepository):
    """`audit_log` in the warehouse."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def add(self, event: AuditEvent) -> None:
        self.db.execute(
            "INSERT INTO audit_log (event_id, at, actor, action, target, details) VALUES (?, ?, ?, ?, ?, ?)",
            (
                event.event_id,
                event.at,
                event.actor,
                event.action,
                event.target,
                json.dumps(event.details or {}, sort_keys=True),
            ),
        )

    def events(
        self,
        actor: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 500,
        target: str | None = None,
    ) -> list[AuditEvent]:
        where, params = [], []
        for column, op, value in (
            ("actor", "=", actor),
            ("action", "=", action),
            ("target", "=", target),
            ("at", ">=", since),
            ("at", "<=", until),
        ):
            if value:
                where.append(f"{column} {op} ?")
                params.append(value)
        sql = "SELECT event_id, at, actor, action, target, details FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.query(sql + " ORDER BY at DESC, event_id LIMIT ?", (*params, int(limit)))
        return [
            AuditEvent(
                r["event_id"],
                r["at"],
                r["actor"],
                r["action"],
                r["target"] or "",
                json.loads(r["details"] or "{}"),
            )
            for r in rows
        ]
