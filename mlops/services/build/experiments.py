"""Experiment records: one JSON document per build attempt, whatever its outcome, at
`experiments/<timestamp>-<id>.json` in the artifact store."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from mlops.adapters.store.base import ArtifactStore

EXPERIMENTS_PREFIX = "experiments"
#: Outcomes a build can end with.
OUTCOMES = ("registered", "not-promoted", "gate-failed", "failed")


def new_experiment_id() -> tuple[str, str]:
    """(experiment id, its key in the store): `experiments/<YYYYmmddTHHMMSSffffffZ>-<12 hex>.json`.
    The stamp has microseconds: two builds in one second (small ones take less) must list in
    the order they started, not by their random part. Keys written with whole seconds still sort
    by time against these (digits sort before `Z` within the same second)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    experiment_id = f"{stamp}-{uuid.uuid4().hex[:12]}"
    return experiment_id, f"{EXPERIMENTS_PREFIX}/{experiment_id}.json"


def write_experiment(store: ArtifactStore, key: str, record: dict[str, Any]) -> str:
    """Store an experiment record (JSON, keys sorted); returns its key. ValueError for an unknown
    outcome."""
    if record.get("outcome") not in OUTCOMES:
        raise ValueError(
            f"experiment outcome must be one of {', '.join(OUTCOMES)}, got {record.get('outcome')!r}"
        )
    store.put_bytes(key, json.dumps(record, indent=2, sort_keys=True, default=str).encode("utf-8"))
    return key


def list_experiments(store: ArtifactStore, limit: int | None = None) -> list[dict[str, Any]]:
    """Experiment records, newest first (at most `limit`)."""
    keys = sorted((k for k in store.list(f"{EXPERIMENTS_PREFIX}/") if k.endswith(".json")), reverse=True)
    return [json.loads(store.get_bytes(k)) for k in keys[:limit]]
