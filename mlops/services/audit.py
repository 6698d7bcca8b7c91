"""The append-only audit log: who did what, when, to what."""

from __future__ import annotations

import uuid
from typing import Any

from mlops.adapters.warehouse.audit import AuditEvent
from mlops.adapters.warehouse.repositories import Source, repositories
from mlops.domain.clock import timestamp


def record(
    source: Source, actor: str, action: str, target: str = "", details: dict[str, Any] | None = None
) -> str:
    """Append one audit event (inside the caller's transaction when `source` is one)."""
    event = AuditEvent(uuid.uuid4().hex, timestamp(), actor, action, target, dict(details or {}))
    repositories(source).audit.add(event)
    return event.event_id


def events(
    source: Source,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Audit events, newest first, filtered by actor, action and time range (timestamps)."""
    return [
        event.to_dict() for event in repositories(source).audit.events(actor, action, since, until, limit)
    ]
