"""Typed views of the registry document (`logs.json`): one version's record (`RegistryEntry`)
and the stage pointers (`StagePointers`).

A record is kept exactly as stored (`RegistryEntry.record`: every key, unknown ones included), so
production-shaped records round-trip unchanged; the properties read the fields the backend uses,
with the defaults old records need (no `status` means registered)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlops.domain.clock import parse_timestamp
from mlops.domain.stages import NOT_SERVABLE, STAGES, ModelStatus, Stage


def _text_field(key: str, doc: str) -> Any:
    """A read-only property: the record's `key` as text (None when absent or null)."""

    def read(entry: RegistryEntry) -> str | None:
        value = entry.record.get(key)
        return None if value is None else str(value)

    return property(read, doc=doc)


@dataclass(frozen=True)
class RegistryEntry:
    """One registered version: its `version` and its record as stored (without `version`)."""

    version: str
    record: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegistryEntry:
        """An entry from `{**record, "version": v}` (the shape `to_dict` returns)."""
        record = {k: copy.deepcopy(v) for k, v in data.items() if k != "version"}
        return cls(str(data["version"]), record)

    def to_dict(self) -> dict[str, Any]:
        """The record with its `version`, as a plain JSON-ready dict (a copy)."""
        return {**copy.deepcopy(self.record), "version": self.version}

    @property
    def status(self) -> str:
        """`registered`, `failed`, `not-promoted`, `rejected` (or an older record's own word)."""
        return str(self.record.get("status") or ModelStatus.REGISTERED)

    @property
    def servable(self) -> bool:
        """Whether the version may be a champion or be released (status not in NOT_SERVABLE)."""
        return self.status not in NOT_SERVABLE

    @property
    def timestamp(self) -> datetime | None:
        """When the version was registered (old `dd/mm/YYYY/HHMM` records read too)."""
        return parse_timestamp(self.record.get("timestamp"))

    trigger = _text_field("trigger", "What started the build (`manual`, `skills-update`, ...).")
    parent_version = _text_field("parent_version", "The champion this version was built from.")
    model_path = _text_field("model_path", "The store prefix of the version's bundle.")
    train_data_path = _text_field("train_data_path", "Store key of the training split.")
    val_data_path = _text_field("val_data_path", "Store key of the validation split.")
    test_data_path = _text_field("test_data_path", "Store key of the fixed test split.")
    data_version = _text_field("data_version", "The version of the training data.")
    data_checksum = _text_field("data_checksum", "The checksum of the training data.")
    requested_by = _text_field("requested_by", "Who requested the release (the UAT sign-off).")

    @property
    def encoder_backend(self) -> str:
        """The encoder backend the version serves with (`torch`, `onnx`, `onnx-int8`); records
        written before backends were recorded served `torch`."""
        return str(self.record.get("encoder_backend") or "torch")

    @property
    def metrics(self) -> dict[str, Any]:
        """The metrics on the fixed test set (empty when none are recorded)."""
        value = self.record.get("metrics")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """What defines the model (base encoder, architecture, loss, training settings)."""
        value = self.record.get("hyperparameters")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def approvals(self) -> list[dict[str, Any]]:
        """The approval trail (who, when, from, to, decision, comment, previous_version)."""
        value = self.record.get("approvals")
        return [dict(e) for e in value if isinstance(e, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class StagePointers:
    """Which version each stage points to (None where a stage is empty)."""

    dev: str | None = None
    uat: str | None = None
    prod: str | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> StagePointers:
        """The pointers of a registry document (`{"prod": {"version": "1.18.0"}, ...}`)."""

        def pointed(stage: Stage) -> str | None:
            pointer = document.get(stage.value)
            version = pointer.get("version") if isinstance(pointer, dict) else None
            return None if version is None else str(version)

        return cls(*(pointed(stage) for stage in STAGES))

    def of(self, stage: Stage | str) -> str | None:
        """The version `stage` points to."""
        return getattr(self, Stage.parse(stage).value)

    def stages_of(self, version: str) -> list[Stage]:
        """The stages pointing at `version`, lowest first."""
        return [stage for stage in STAGES if self.of(stage) == version]

    def as_dict(self) -> dict[Stage, str | None]:
        """`{Stage.DEV: v, Stage.UAT: v, Stage.PROD: v}` (keys compare equal to "dev", ...)."""
        return {stage: self.of(stage) for stage in STAGES}
