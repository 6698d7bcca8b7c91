"""Rebuild a lost or corrupt registry document (`logs.json`) from the store's version folders.

Each version bundle under `finetuned_models/mlops/versions/X.Y.Z/` gives one record: its
`pipeline.json` (taxonomy version and checksum, output rule), the build's experiment record
(`experiments/*.json` with outcome `registered` and that version: data paths, data version and
checksum, metrics, hyper-parameters, parent version, trigger, calibration, evaluation) and its
model card key when there is one. The PROD pointer comes from the store's `prod/` mirror
(`prod/deployment.json`). What the store does not hold is not invented: DEV and UAT pointers,
statuses (every version is `registered`) and the approval trail (the warehouse audit log keeps
the release decisions) are listed as notes. Each rebuilt record carries `repaired` (when, from
which keys).

`plan_repair` writes nothing (the dry run); `apply_repair` writes the planned document: a new
one where none is, or over a corrupt one after copying its bytes to `logs.json.corrupt-<time>`.
A valid document is never replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mlops.adapters.deploy.local import DEPLOYMENT_FILE
from mlops.adapters.store.base import ArtifactStore, NotFound, StoreError
from mlops.adapters.store.documents import encode_document
from mlops.adapters.store.layout import PROD_PREFIX, version_prefix
from mlops.domain.clock import timestamp, utc_now
from mlops.domain.stages import ModelStatus, Stage
from mlops.services.build.experiments import EXPERIMENTS_PREFIX
from mlops.services.build.model_card import model_card_key
from mlops.services.registry import LOGS_KEY, Registry, RegistryDocumentError
from sea_core.bundle import PIPELINE_FILE

#: Experiment record fields copied into a rebuilt registry record as they are.
EXPERIMENT_FIELDS = (
    "metrics",
    "hyperparameters",
    "parent_version",
    "trigger",
    "bump",
    "calibration",
    "evaluation",
    "encoded_count",
)
#: Fields of the experiment's `data` table copied into the record.
DATA_FIELDS = ("train_data_path", "val_data_path", "test_data_path", "data_version", "data_checksum")


class DocumentState(StrEnum):
    """What the stored registry document is."""

    MISSING = "missing"
    CORRUPT = "corrupt"
    VALID = "valid"


class RepairError(RuntimeError):
    """The repair cannot be written (the document is valid, or changed meanwhile)."""


@dataclass
class RepairPlan:
    """What a repair would write, and from what."""

    state: DocumentState
    problem: str
    document: dict[str, Any]
    sources: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def versions(self) -> list[str]:
        """The versions the rebuilt document registers, oldest first."""
        return list(self.document.get("models", {}))

    @property
    def needed(self) -> bool:
        """Whether there is anything to write."""
        return self.state is not DocumentState.VALID and bool(self.versions)


def _json(store: ArtifactStore, key: str) -> dict[str, Any] | None:
    try:
        value = json.loads(store.get_bytes(key).decode("utf-8"))
    except (NotFound, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _document_state(registry: Registry) -> tuple[DocumentState, str]:
    try:
        document, tag = registry.store.read_document(registry.key)
    except StoreError as exc:
        return DocumentState.CORRUPT, str(exc)
    if document is None:
        return DocumentState.MISSING, f"{registry.key} is missing from {registry.store.url}"
    try:
        registry.read()
    except RegistryDocumentError as exc:
        return DocumentState.CORRUPT, str(exc)
    return DocumentState.VALID, f"{registry.key} in {registry.store.url} is valid"


def _registered_experiments(store: ArtifactStore, notes: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Version -> (key, record) of the newest experiment that registered it."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for key in sorted(k for k in store.list(f"{EXPERIMENTS_PREFIX}/") if k.endswith(".json")):
        record = _json(store, key)
        if record is None:
            notes.append(f"{key}: not a readable experiment record, skipped")
            continue
        if record.get("outcome") == "registered" and isinstance(record.get("version"), str):
            found[record["version"]] = (key, record)
    return found


def _record(
    store: ArtifactStore, version: str, experiment: tuple[str, dict[str, Any]] | None, now: str
) -> tuple[dict[str, Any], list[str], list[str]]:
    """(record, source keys, notes) of one version folder."""
    prefix = version_prefix(version)
    settings = _json(store, f"{prefix}/{PIPELINE_FILE}") or {}
    sources = [f"{prefix}/{PIPELINE_FILE}"]
    notes: list[str] = []
    record: dict[str, Any] = {"bucket": store.url, "model_path": prefix}
    if experiment is None:
        notes.append(f"{version}: no experiment record registered it; data paths and metrics are unknown")
    else:
        key, exp = experiment
        sources.append(key)
        data = exp.get("data")
        data = data if isinstance(data, dict) else {}
        record.update({name: data[name] for name in DATA_FIELDS if name in data})
        record.update({name: exp[name] for name in EXPERIMENT_FIELDS if name in exp})
        evaluation = exp.get("evaluation")
        if isinstance(evaluation, dict) and "key" in evaluation:
            record["evaluation_data_path"] = evaluation["key"]
        record["experiment"] = key
    for name in ("taxonomy_version", "taxonomy_checksum", "output_rule"):
        if name in settings:
            record[name] = settings[name]
    card = model_card_key(version)
    if store.exists(card):
        record["model_card"] = card
        sources.append(card)
    finished = experiment[1].get("finished_at") if experiment else None
    record["timestamp"] = finished if isinstance(finished, str) else now
    record["status"] = ModelStatus.REGISTERED.value
    record["approvals"] = []
    record["repaired"] = {"at": now, "from": sources}
    return record, sources, notes


def plan_repair(store: ArtifactStore, key: str = LOGS_KEY) -> RepairPlan:
    """The document a repair would write (nothing is written)."""
    registry = Registry(store, key)
    state, problem = _document_state(registry)
    notes: list[str] = []
    versions = registry.stored_versions()
    experiments = _registered_experiments(store, notes) if versions else {}
    now = utc_now()
    document: dict[str, Any] = {"models": {}}
    sources: dict[str, list[str]] = {}
    for version in versions:
        record, used, found = _record(store, version, experiments.get(version), now)
        document["models"][version] = record
        sources[version] = used
        notes.extend(found)
    marker = _json(store, f"{PROD_PREFIX}/{DEPLOYMENT_FILE}") or {}
    if marker.get("version") in document["models"]:
        document[Stage.PROD.value] = {"version": marker["version"]}
        sources.setdefault(marker["version"], []).append(f"{PROD_PREFIX}/{DEPLOYMENT_FILE}")
    elif versions:
        notes.append(
            f"no {PROD_PREFIX}/{DEPLOYMENT_FILE} naming a stored version: the prod pointer stays unset"
        )
    if versions:
        notes.append(
            "dev and uat pointers, statuses and approval trails are not kept in the store: every "
            "version is 'registered' with no approvals (the warehouse audit log has the release decisions)"
        )
    return RepairPlan(state, problem, document, sources, notes)


def apply_repair(store: ArtifactStore, plan: RepairPlan, key: str = LOGS_KEY) -> str | None:
    """Write `plan.document`; returns the key the corrupt document was copied to (None when
    there was none). RepairError when the document is valid, there is nothing to write, or the
    stored document is no longer what the plan saw."""
    if plan.state is DocumentState.VALID:
        raise RepairError(f"{key} is valid: nothing to repair (a valid document is never replaced)")
    if not plan.versions:
        raise RepairError(
            f"the store holds no version bundles to rebuild {key} from (`python -m mlops init`)"
        )
    state, _ = _document_state(Registry(store, key))
    if state is not plan.state:
        raise RepairError(f"{key} changed since the plan was made ({plan.state} -> {state}); plan again")
    backup = None
    if plan.state is DocumentState.MISSING:
        store.write_document(key, plan.document, expected_tag=None)  # ConflictError if created meanwhile
    else:
        backup = f"{key}.corrupt-{timestamp().replace(':', '')}"
        store.put_bytes(backup, store.get_bytes(key))
        store.put_bytes(key, encode_document(key, plan.document))
    Registry(store, key).read()  # what was written reads back as a valid registry
    return backup
