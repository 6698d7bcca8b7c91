"""The alerts' repository: quality alerts raised by monitoring, open until acknowledged."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from mlops.adapters.warehouse.base import Session

#: An alert's fields, in column order.
ALERT_FIELDS = (
    "alert_id",
    "metric",
    "value",
    "threshold",
    "window_start",
    "window_end",
    "n_reviews",
    "model_version",
    "status",
    "created_at",
    "message",
)
_COLUMNS = ", ".join(ALERT_FIELDS)


class AlertRepository(ABC):
    """Where alerts are stored; an alert is a dict with the `ALERT_FIELDS`."""

    @abstractmethod
    def add(self, alert: dict[str, Any]) -> None:
        """Store a new alert."""

    @abstractmethod
    def get(self, alert_id: str) -> dict[str, Any] | None:
        """One alert, or None."""

    @abstractmethod
    def with_status(self, status: str) -> list[dict[str, Any]]:
        """Alerts of one status, newest first (`created_at` descending, then `alert_id`)."""

    @abstractmethod
    def exists(self, metric: str, model_version: str, status: str) -> bool:
        """Whether an alert of that metric, model version and status exists."""

    @abstractmethod
    def set_status(self, alert_id: str, status: str) -> None:
        """Change an alert's status."""


class SqlAlertRepository(AlertRepository):
    """The `alerts` table."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def add(self, alert: dict[str, Any]) -> None:
        self.db.execute(
            f"INSERT INTO alerts ({_COLUMNS}) VALUES ({', '.join('?' * len(ALERT_FIELDS))})",
            tuple(alert[name] for name in ALERT_FIELDS),
        )

    def get(self, alert_id: str) -> dict[str, Any] | None:
        return self.db.query_one(f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ?", (alert_id,))

    def with_status(self, status: str) -> list[dict[str, Any]]:
        return self.db.query(
            f"SELECT {_COLUMNS} FROM alerts WHERE status = ? ORDER BY created_at DESC, alert_id", (status,)
        )

    def exists(self, metric: str, model_version: str, status: str) -> bool:
        return bool(
            self.db.scalar(
                "SELECT COUNT(*) FROM alerts WHERE metric = ? AND model_version = ? AND status = ?",
                (metric, model_version, status),
            )
        )

    def set_status(self, alert_id: str, status: str) -> None:
        self.db.execute("UPDATE alerts SET status = ? WHERE alert_id = ?", (status, alert_id))
