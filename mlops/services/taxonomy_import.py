"""Taxonomy import: preview a new SFw workbook / CSV against the warehouse's current taxonomy,
then write it as a new taxonomy version in one transaction and queue the skills-update build.

Written on import (one transaction): a `taxonomy_versions` row, every `taxonomy_skills` row
(batched), one `pending_skill_updates` row per added/changed/removed skill (status `pending`,
for the skills-update build to apply) and an audit event. The build job is queued afterwards.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
import uuid

from mlops.adapters.warehouse.base import Session, Warehouse
from mlops.services import audit
from mlops.services.identity import User, require_role
from sea_core.taxonomy import Skill, Taxonomy, load_taxonomy

SKILLS_UPDATE_JOB = "skills-update"
LIST_COLUMNS = ("alt_labels", "tags", "proficiency_levels")
SKILL_COLUMNS = ("taxonomy_version", "skill_id", "title", "skill_type", "description", "alt_labels",
                 "tags", "proficiency_levels", "sector", "category", "source", "code", "content_hash")


class TaxonomyImportError(ValueError):
    """The import cannot go ahead (nothing changed, unreadable file); the message says why."""


@dataclass
class ImportPreview:
    """What importing a file would change; nothing is written to produce it."""

    taxonomy: Taxonomy
    current_version: str | None
    added: list[Skill] = field(default_factory=list)
    changed: list[Skill] = field(default_factory=list)
    removed: list[Skill] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        """Whether the file differs from the current taxonomy at all."""
        return bool(self.added or self.changed or self.removed)

    def counts(self) -> dict[str, int]:
        """Number of skills in the file and added/changed/removed."""
        return {"skills": len(self.taxonomy), "added": len(self.added),
                "changed": len(self.changed), "removed": len(self.removed)}

    def rows(self) -> list[dict[str, str]]:
        """One row per difference (change, skill_id, title, type) for display."""
        return [{"change": change, "skill_id": s.skill_id, "title": s.title, "type": s.skill_type}
                for change, skills in (("added", self.added), ("changed", self.changed),
                                       ("removed", self.removed)) for s in skills]


@dataclass(frozen=True)
class ImportResult:
    """The taxonomy version written and the skills-update job queued (None when unavailable)."""

    version: str
    counts: dict[str, int]
    job_id: str | None
    job_error: str | None = None


def _skill_from_row(row: dict[str, Any]) -> Skill:
    lists = {}
    for name in LIST_COLUMNS:
        try:
            lists[name] = tuple(json.loads(row.get(name) or "[]"))
        except ValueError:
            lists[name] = ()
    return Skill(title=row["title"], skill_type=row.get("skill_type") or "skill",
                 description=row.get("description") or "", sector=row.get("sector") or "",
                 category=row.get("category") or "", source=row.get("source") or "",
                 code=row.get("code") or "", skill_id=row["skill_id"], **lists)


def current_version(session: Session) -> dict[str, Any] | None:
    """The newest `taxonomy_versions` row, or None when nothing was imported yet."""
    return session.query_one("SELECT version, name, checksum, skill_count, created_at, created_by "
                             "FROM taxonomy_versions ORDER BY created_at DESC, version DESC LIMIT 1")


def current_taxonomy(session: Session) -> Taxonomy | None:
    """The newest imported taxonomy, read back from `taxonomy_skills`; None when there is none."""
    head = current_version(session)
    if head is None:
        return None
    rows = session.query(f"SELECT {', '.join(SKILL_COLUMNS[1:])} FROM taxonomy_skills "
                         "WHERE taxonomy_version = ? ORDER BY title, skill_id", (head["version"],))
    return Taxonomy((_skill_from_row(r) for r in rows), version=head["version"], name=head.get("name") or "")


def preview_import(warehouse: Warehouse, path: str | Path) -> ImportPreview:
    """Load the file (TaxonomyError on a bad file) and diff it with the current taxonomy."""
    new = load_taxonomy(path)
    current = current_taxonomy(warehouse)
    if current is None:
        return ImportPreview(new, None, added=list(new))
    diff = current.diff(new)
    return ImportPreview(new, current.version, diff["added"], diff["changed"], diff["removed"])


def _free_version(session: Session, label: str) -> str:
    """`label`, or the next patch version (or `label-N`) that is not taken yet."""
    from mlops.versioning import Version, VersionError

    candidate, n = label, 1
    while session.query_one("SELECT version FROM taxonomy_versions WHERE version = ?", (candidate,)):
        n += 1
        try:
            candidate = str(Version.parse(candidate).bump("patch"))
        except VersionError:
            candidate = f"{label}-{n}"
    return candidate


def _skill_row(version: str, skill: Skill) -> tuple:
    return (version, skill.skill_id, skill.title, skill.skill_type, skill.description,
            *(json.dumps(list(getattr(skill, n)), ensure_ascii=False) for n in LIST_COLUMNS),
            skill.sector, skill.category, skill.source, skill.code, skill.content_hash())


def import_taxonomy(warehouse: Warehouse, path: str | Path, user: User, *,
                    queue_build: bool = True) -> ImportResult:
    """Write the file as a new taxonomy version (admin only) and queue a skills-update build.

    Raises TaxonomyImportError when the file is identical to the current taxonomy,
    TaxonomyError when it cannot be read, PermissionDenied without the admin role."""
    require_role(user, "admin", "system", action="import a taxonomy")
    preview = preview_import(warehouse, path)
    if not preview.has_changes:
        raise TaxonomyImportError(f"nothing to import: the file is identical to taxonomy version "
                                  f"{preview.current_version}")
    taxonomy = preview.taxonomy
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")
    with warehouse.transaction() as session:
        version = _free_version(session, taxonomy.version or "1.0.0")
        session.execute("INSERT INTO taxonomy_versions (version, name, checksum, skill_count, created_at,"
                        " created_by) VALUES (?, ?, ?, ?, ?, ?)",
                        (version, taxonomy.name or Path(path).name, taxonomy.checksum, len(taxonomy),
                         now, user.username))
        session.executemany(f"INSERT INTO taxonomy_skills ({', '.join(SKILL_COLUMNS)}) "
                            f"VALUES ({', '.join('?' * len(SKILL_COLUMNS))})",
                            (_skill_row(version, s) for s in taxonomy))
        updates = [(uuid.uuid4().hex, s.skill_id, action,
                    json.dumps({"taxonomy_version": version, "skill": s.to_dict()}, ensure_ascii=False),
                    "pending", now, None)
                   for action, skills in (("add", preview.added), ("change", preview.changed),
                                          ("remove", preview.removed)) for s in skills]
        if updates:
            session.executemany("INSERT INTO pending_skill_updates (update_id, skill_id, action, payload,"
                                " status, created_at, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?)", updates)
        audit.record(session, user.username, "taxonomy.import", version,
                     {"file": Path(path).name, "previous": preview.current_version, **preview.counts()})
    job_id, job_error = None, None
    if queue_build:
        job_id, job_error = _queue_skills_update(warehouse, user, version)
    return ImportResult(version, preview.counts(), job_id, job_error)


def _queue_skills_update(warehouse: Warehouse, user: User, version: str) -> tuple[str | None, str | None]:
    """Queue the skills-update build through `mlops.services.jobs.enqueue` when it is installed."""
    try:
        from mlops.services import jobs
    except ImportError:
        return None, "the jobs service is not available; run the skills-update build by hand"
    try:
        job = jobs.enqueue(warehouse, SKILLS_UPDATE_JOB, {"taxonomy_version": version}, user=user)
    except Exception as exc:  # noqa: BLE001 - the import stands; report why the build was not queued
        return None, f"the skills-update build could not be queued: {exc}"
    return (job if isinstance(job, str) else getattr(job, "job_id", None) or str(job)), None
