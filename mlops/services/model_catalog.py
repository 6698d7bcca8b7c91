"""Read-only views of the models for the app: the registry as table rows, experiment records,
model cards, and the build jobs an admin can queue by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops.adapters.store.base import ArtifactStore, NotFound
from mlops.domain.stages import Stage
from mlops.services.registry import Registry

#: Builds an admin can queue from the Models page: label -> (job kind, parameters).
MANUAL_BUILDS: dict[str, tuple[str, dict[str, Any]]] = {
    "Retrain (fine-tune on feedback)": ("build", {"trigger": "manual"}),
    "Re-embed the taxonomy": ("skills-update", {"trigger": "manual"}),
}
RECORD_COLUMNS = (
    "status",
    "trigger",
    "data_version",
    "data_checksum",
    "taxonomy_version",
    "parent_version",
    "timestamp",
)


def _short(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


@dataclass(frozen=True)
class ModelRow:
    """One registered version as the Models page lists it."""

    version: str
    stages: tuple[Stage, ...]
    fields: dict[str, Any]  # RECORD_COLUMNS, as stored
    metrics: dict[str, float]  # the numeric metrics
    hyperparameters: dict[str, Any]
    approvals: int  # decisions in its trail

    def table_row(self) -> dict[str, Any]:
        """The row for a table: stages as `DEV, PROD`, every metric as `metric:<name>` (rounded
        to 4 places), the hyper-parameters as JSON text."""
        row: dict[str, Any] = {"version": self.version, "stages": ", ".join(s.label for s in self.stages)}
        row.update({name: _short(value) for name, value in self.fields.items()})
        row.update({f"metric:{name}": _short(value) for name, value in self.metrics.items()})
        row["hyperparameters"] = _short(self.hyperparameters)
        row["approvals"] = self.approvals
        return row


def registry_rows(registry: Registry) -> list[ModelRow]:
    """One row per registered version, newest first."""
    pointers = registry.pointers()
    return [
        ModelRow(
            version=entry.version,
            stages=tuple(pointers.stages_of(entry.version)),
            fields={name: entry.record.get(name) for name in RECORD_COLUMNS},
            metrics={name: value for name, value in entry.metrics.items() if isinstance(value, (int, float))},
            hyperparameters=entry.hyperparameters,
            approvals=len(entry.approvals),
        )
        for entry in reversed(registry.entries())
    ]


def experiment_rows(store: ArtifactStore, limit: int = 50) -> list[dict[str, Any]]:
    """Experiment records, newest first, flattened for a table (metrics as `metric:<name>`)."""
    from mlops.services.build.experiments import list_experiments  # the build package is heavy

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
