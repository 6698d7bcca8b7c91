"""The model registry: the `logs.json` document at the artifact store root.

Shape (the production document's, read without loss: unknown keys are kept as they are):
`{"prod": {"version": "1.18.0"}, "uat": {...}, "dev": {...}, "models": {"X.Y.Z": record}}`
where a record holds bucket, model_path, train/val/test data paths, metrics, data_version,
data_checksum, timestamp, taxonomy_version, hyperparameters, parent_version, trigger, status
and `approvals` (the append-only trail: who, when, from, to, decision, comment).

Every change is a compare-and-swap on the stored document (`Registry.update`): read, change a
copy, write only if nobody wrote in between, otherwise retry with backoff. A corrupt document
is reported (RegistryError naming it) and never overwritten.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from typing import Any

from mlops.adapters.store.base import ArtifactStore, ConflictError, StoreError
from mlops.adapters.store.layout import VERSIONS_PREFIX
from mlops.domain.clock import utc_now
from mlops.domain.registry_records import RegistryEntry, StagePointers
from mlops.domain.stages import STAGES, ModelStatus, Stage
from mlops.versioning import Version, VersionError

LOGS_KEY = "logs.json"
#: Record fields that only their own methods change (`set_stage`, `record_approval`).
_PROTECTED = ("version", "approvals")


class RegistryError(KeyError):
    """An unknown or duplicate version, or a corrupt registry document; the message says which."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class RegistryDocumentError(RegistryError):
    """The registry document is unreadable, malformed, or missing while versions exist in the
    store; it is left as it is (`python -m mlops registry repair` rebuilds it)."""


class UnknownVersionError(RegistryError):
    """The version is not registered."""


REPAIR_HINT = "see `python -m mlops registry repair --dry-run`"


def _version_text(version: str) -> str:
    return str(Version.parse(version))


class Registry:
    """Model versions, their records and the stage pointers, in one CAS-updated document."""

    def __init__(
        self,
        store: ArtifactStore,
        key: str = LOGS_KEY,
        max_attempts: int = 60,
        backoff_s: float = 0.005,
        max_backoff_s: float = 0.25,
    ) -> None:
        self.store = store
        self.key = key
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    # -- reading ---------------------------------------------------------------------------
    def _load(self, registering: str | None = None) -> tuple[dict, str | None]:
        """The stored document and its tag; an absent one is empty, unless the store holds
        version bundles other than `registering` (the one a first registration uploaded)."""
        try:
            document, tag = self.store.read_document(self.key)
        except StoreError as exc:
            raise RegistryDocumentError(
                f"registry document {self.key} in {self.store.url} cannot be read: {exc} ({REPAIR_HINT})"
            ) from exc
        if document is None:
            stray = [v for v in self.stored_versions() if v != registering]
            if stray:
                raise RegistryDocumentError(
                    f"registry document {self.key} is missing from {self.store.url}, but the store holds "
                    f"model versions {', '.join(stray)} under {VERSIONS_PREFIX}/: it was deleted or lost; "
                    f"nothing is written until it is rebuilt ({REPAIR_HINT})"
                )
            return {"models": {}}, None
        self._validate(document)
        return document, tag

    def stored_versions(self) -> list[str]:
        """The versions whose bundle (pipeline.json) is under the store's versions prefix,
        oldest first, whatever the document says."""
        found: set[str] = set()
        for key in self.store.list(f"{VERSIONS_PREFIX}/"):
            parts = key[len(VERSIONS_PREFIX) + 1 :].split("/")
            if len(parts) == 2 and parts[1] == "pipeline.json":
                try:
                    found.add(str(Version.parse(parts[0])))
                except VersionError:
                    continue
        return sorted(found, key=Version.parse)

    def initialise(self) -> bool:
        """Create the empty document when there is none (True), else check the stored one
        (False); RegistryDocumentError for a malformed one or a lost one (versions in the store)."""
        _, tag = self._load()
        if tag is not None:
            return False
        try:
            self.store.write_document(self.key, {"models": {}}, expected_tag=None)
        except ConflictError:
            self._load()  # another process created it first: still check what it wrote
            return False
        return True

    def _validate(self, document: Any) -> None:
        where = f"registry document {self.key} in {self.store.url}"
        if not isinstance(document, dict):
            raise RegistryDocumentError(
                f"{where} is corrupt: expected a JSON object, got {type(document).__name__}; left untouched"
            )
        models = document.setdefault("models", {})
        if not isinstance(models, dict):
            raise RegistryDocumentError(f"{where} is corrupt: 'models' must be an object; left untouched")
        for version, record in models.items():
            try:
                Version.parse(version)
            except VersionError as exc:
                raise RegistryDocumentError(f"{where} is corrupt: models key {version!r}: {exc}") from exc
            if not isinstance(record, dict):
                raise RegistryDocumentError(f"{where} is corrupt: models[{version!r}] must be an object")
        for stage in STAGES:
            pointer = document.get(stage.value)
            if pointer is not None and not isinstance(pointer, dict):
                raise RegistryDocumentError(
                    f'{where} is corrupt: {stage.value!r} must be an object like {{"version": "1.2.3"}}'
                )

    def read(self) -> dict:
        """The whole document (a copy: changing it changes nothing stored)."""
        return self._load()[0]

    def entries(self) -> list[RegistryEntry]:
        """Every registered version's entry, oldest version first."""
        models = self.read()["models"]
        return [RegistryEntry(v, models[v]) for v in sorted(models, key=Version.parse)]

    def entry(self, version: str) -> RegistryEntry:
        """One version's entry; RegistryError when unknown."""
        text = _version_text(version)
        models = self.read()["models"]
        if text not in models:
            raise UnknownVersionError(f"version {text} is not registered in {self.key}")
        return RegistryEntry(text, models[text])

    def versions(self) -> list[dict]:
        """`entries()` as plain dicts (each record with its `version`), oldest first."""
        return [entry.to_dict() for entry in self.entries()]

    def get(self, version: str) -> dict:
        """`entry(version)` as a plain dict (the record with its `version`)."""
        return self.entry(version).to_dict()

    def pointers(self, document: dict | None = None) -> StagePointers:
        """The stage pointers (of `document` when given, else of the stored document)."""
        return StagePointers.from_document(self.read() if document is None else document)

    def stage(self, stage: Stage | str) -> str | None:
        """The version a stage ('dev', 'uat', 'prod') points to, or None."""
        name = Stage.parse(stage)
        return self.pointers().of(name)

    def stages_of(self, version: str, document: dict | None = None) -> list[Stage]:
        """The stages pointing at a version, lowest first."""
        text = _version_text(version)
        return self.pointers(document).stages_of(text)

    def next_version(self, kind: str) -> str:
        """The highest registered version bumped by `kind`; `1.0.0` when none is registered."""
        models = self.read()["models"]
        if not models:
            Version(1, 0, 0).bump(kind)  # still reject an unknown kind
            return "1.0.0"
        return str(max(Version.parse(v) for v in models).bump(kind))

    def data_versions(self) -> dict[str, str]:
        """`data_checksum` -> `data_version` over the registered records (the memory that
        `mlops.datasets.data_version` needs)."""
        known: dict[str, str] = {}
        for entry in self.entries():
            checksum, version = entry.record.get("data_checksum"), entry.record.get("data_version")
            if isinstance(checksum, str) and isinstance(version, str):
                known.setdefault(checksum, version)
        return known

    # -- writing ---------------------------------------------------------------------------
    def update(self, fn: Callable[[dict], dict | None], *, registering: str | None = None) -> dict:
        """Apply `fn` to a copy of the document and store the result atomically.

        `fn` returns the new document, or None after changing its argument in place; it may
        be called several times (once per attempt), so it must not have side effects. Another
        writer in between makes this retry (re-read, re-apply) with jittered exponential
        backoff, up to `max_attempts`; then ConflictError. Returns the stored document.
        `registering`: the version whose bundle a first registration has just uploaded (an absent
        document with only that version in the store is a new registry, not a lost one).
        """
        delay = self.backoff_s
        for _ in range(self.max_attempts):
            current, tag = self._load(registering)
            working = copy.deepcopy(current)
            result = fn(working)
            new = working if result is None else result
            self._validate(new)
            if new == current and tag is not None:
                return copy.deepcopy(new)
            try:
                self.store.write_document(self.key, new, tag)
                return copy.deepcopy(new)
            except ConflictError:
                # A retried request whose first try did land reports a conflict with itself.
                latest, _ = self._load(registering)
                if latest == new:
                    return copy.deepcopy(new)
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, self.max_backoff_s)
        raise ConflictError(
            f"{self.key}: gave up after {self.max_attempts} attempts, other writers kept changing it"
        )

    def register(self, version: str, record: dict) -> None:
        """Add a version's record; RegistryError if the version is already registered.

        Adds `timestamp` (now, UTC), `status` ('registered') and `approvals` ([]) when absent.
        """
        text = _version_text(version)
        if not isinstance(record, dict):
            raise TypeError(f"a registry record must be a dict, got {type(record).__name__}")
        if "version" in record and str(record["version"]).strip() != text:
            raise ValueError(f"record version {record['version']!r} differs from {text}")
        entry = {k: copy.deepcopy(v) for k, v in record.items() if k != "version"}
        entry.setdefault("timestamp", utc_now())
        entry.setdefault("status", ModelStatus.REGISTERED.value)
        entry.setdefault("approvals", [])

        def add(document: dict) -> None:
            if text in document["models"]:
                raise RegistryError(f"version {text} is already registered in {self.key}")
            document["models"][text] = entry

        self.update(add, registering=text)

    def update_record(self, version: str, **fields: Any) -> dict:
        """Set fields of a registered version's record; returns the new record.
        `version` and `approvals` cannot be set this way."""
        text = _version_text(version)
        refused = sorted(set(fields) & set(_PROTECTED))
        if refused:
            raise ValueError(f"fields {refused} cannot be set with update_record")

        def change(document: dict) -> None:
            record = document["models"].get(text)
            if record is None:
                raise UnknownVersionError(f"version {text} is not registered in {self.key}")
            record.update(copy.deepcopy(fields))

        return {**self.update(change)["models"][text], "version": text}

    def _approval(
        self, document: dict, version: str, stage: str, who: str, decision: str, comment: str
    ) -> dict:
        if not isinstance(who, str) or not who.strip():
            raise ValueError("an approval needs who made it (a non-empty name)")
        if not isinstance(decision, str) or not decision.strip():
            raise ValueError("an approval needs a decision (e.g. 'approved', 'rejected')")
        held = [s.value for s in self.stages_of(version, document) if s != stage]
        return {
            "who": who.strip(),
            "when": utc_now(),
            "from": held[-1] if held else None,
            "to": stage,
            "decision": decision.strip(),
            "comment": comment or "",
            "previous_version": (document.get(stage) or {}).get("version"),
        }

    def set_stage(
        self, stage: str, version: str, *, who: str, comment: str = "", decision: str = "approved"
    ) -> None:
        """Point a stage at a registered version and append the decision to its `approvals`
        (`from`: the highest other stage holding it, `to`: the stage, `previous_version`: what
        the stage pointed at). Unknown keys of the stage entry are kept."""
        name, text = Stage.parse(stage).value, _version_text(version)

        def move(document: dict) -> None:
            record = document["models"].get(text)
            if record is None:
                raise UnknownVersionError(f"version {text} is not registered in {self.key}")
            entry = self._approval(document, text, name, who, decision, comment)
            record.setdefault("approvals", []).append(entry)
            current = document.get(name)
            pointer = current if isinstance(current, dict) else {}
            document[name] = {**pointer, "version": text}

        self.update(move)

    def record_approval(
        self, version: str, *, to_stage: str, who: str, decision: str, comment: str = ""
    ) -> None:
        """Append a decision about moving a version to a stage (e.g. a rejection, a sign-off
        awaiting the next approver) without moving any stage pointer."""
        name, text = Stage.parse(to_stage).value, _version_text(version)

        def note(document: dict) -> None:
            record = document["models"].get(text)
            if record is None:
                raise UnknownVersionError(f"version {text} is not registered in {self.key}")
            record.setdefault("approvals", []).append(
                self._approval(document, text, name, who, decision, comment)
            )

        self.update(note)
