"""The JSON-lines archive of served predictions in the artifact store: one object per batch and
day, `prediction_logs/YYYY/MM/DD/<queue id>-<first seq>.jsonl`, so a re-sent batch overwrites
itself instead of duplicating."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlops.domain.clock import parse_timestamp

if TYPE_CHECKING:
    from mlops.adapters.store.base import ArtifactStore

ARCHIVE_PREFIX = "prediction_logs"


def record_time(record: dict[str, Any]) -> datetime:
    """The record's `timestamp` as an aware UTC datetime (naive means UTC; now if unreadable)."""
    return parse_timestamp(str(record.get("timestamp"))) or datetime.now(UTC)


def archive_day(entry: dict[str, Any]) -> str:
    """`YYYY/MM/DD` of a queued entry's record: the folder its archive line goes to."""
    return record_time(entry["record"]).strftime("%Y/%m/%d")


def archive_line(entry: dict[str, Any]) -> str:
    """One archived JSON line: the record with the entry's stage, latency, status and error."""
    return json.dumps(
        {
            **entry["record"],
            "stage": entry["stage"],
            "latency_ms": entry["latency_ms"],
            "status": entry["status"],
            "error": entry["error"],
        },
        ensure_ascii=False,
    )


class JsonlArchiver:
    """Writes batches of queued entries to the store as JSON lines."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def write(self, day: str, batch_id: str, entries: list[dict[str, Any]]) -> str:
        """Store `entries` (of one day) as one object named by `batch_id`; returns its key.
        Raises whatever the store raises (the caller keeps the entries queued)."""
        key = f"{ARCHIVE_PREFIX}/{day}/{batch_id}.jsonl"
        self.store.put_bytes(key, ("\n".join(archive_line(e) for e in entries) + "\n").encode("utf-8"))
        return key
