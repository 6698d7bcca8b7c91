"""The append-only audit log: who did what, when, to what."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from mlops.adapters.warehouse.base import Session


def utc_now() -> str:
    """Current UTC time as ISO-8601 without offset (the warehouse's timestamp format)."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds")


def record(session: Session, actor: str, action: str, target: str = "",
           details: dict[str, Any] | None = None) -> str:
    """Append one audit event (inside the caller's transaction when `session` is one)."""
    event_id = uuid.uuid4().hex
    session.execute(
        "INSERT INTO audit_log (event_id, at, actor, action, target, details) VALUES (?, ?, ?, ?, ?, ?)",
        (event_id, utc_now(), actor, action, target, json.dumps(details or {}, sort_keys=True)))
    return event_id


def events(session: Session, actor: str | None = None, action: str | None = None,
           since: str | None = None, until: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Audit events, newest first, filtered by actor, action and time range (ISO strings)."""
    where, params = [], []
    for column, op, value in (("actor", "=", actor), ("action", "=", action),
                              ("at", ">=", since), ("at", "<=", until)):
        if value:
            where.append(f"{column} {op} ?")
            params.append(value)
    sql = "SELECT event_id, at, actor, action, target, details FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = session.query(sql + " ORDER BY at DESC, event_id LIMIT ?", (*params, int(limit)))
    for row in rows:
        row["details"] = json.loads(row["details"] or "{}")
    return rows
