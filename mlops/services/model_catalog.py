"""Read-only views of the models for the app: the registry as table rows, experiment records,
model cards, and the build jobs an admin can queue by hand."""
from __future__ import annotations

import json
from typing import Any

from mlops.adapters.store.base import ArtifactStore, NotFound
from mlops.services.registry import STAGES, Registry

#: Builds an admin can queue from the Models page: label -> (job kind, parameters).
MANUAL_BUILDS: dict[str, tuple[str, dict[str, Any]]] = {
    "Retrain (fine-tune on feedback)": ("build", {"trigger": "manual"}),
    "Re-embed the taxonomy": ("skills-update", {"trigger": "manual"}),
}
RECORD_COLUMNS = ("status", "trigger", "data_version", "data_checksum", "taxonomy_version",
                  "parent_version", "timestamp")


def _short(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def registry_rows(registry: Registry) -> list[dict[str, Any]]:
    """One row per registered version, newest first: stages, the record's main fields, every
    metric as `metric:<name>` and the hyper-parameters as JSON text."""
    document = registry.read()
    pointers = {stage: (document.get(stage) or {}).get("version") for stage in STAGES}
    rows = []
    for record in reversed(registry.versions()):
        version = record["version"]
        row: dict[str, Any] = {"version": version,
                               "stages": ", ".join(s.upper() for s in STAGES if pointers[s] == version)}
        row.update({name: _short(record.get(name)) for name in RECORD_COLUMNS})
        for name, value in (record.get("metrics") or {}).items():
            if isinstance(value, (int, float)):
                row[f"metric:{name}"] = _short(value)
        row["hyperparameters"] = _short(record.get("hyperparameters") or {})
        row["approvals"] = len(record.get("approvals") or [])
        rows.append(row)
    return rows


def experiment_rows(store: ArtifactStore, limit: int = 50) -> list[dict[str, Any]]:
    """Experiment records, newest first, flattened for a table (metrics as `metric:<name>`)."""
    from mlops.services.build.experiments import list_experiments

    rows = []
    for record in list_experiments(store, limit=limit):
        row = {k: _short(v) for k, v in record.items() if not isinstance(v, dict)}
        for group in ("metrics", "contender", "champion"):
            value = record.get(group)
            if isinstance(value, dict):
                for name, metric in value.items():
                    if isinstance(metric, (int, float)):
                        row[f"{group}:{name}"] = _short(metric)
        rows.append(row)
    return rows


def model_card(store: ArtifactStore, version: str) -> str | None:
    """The Markdown model card of a version, or None when it has none."""
    from mlops.services.build.model_card import model_card_key

    try:
        return store.get_bytes(model_card_key(version)).decode("utf-8")
    except NotFound:
        return None
