"""Taxonomy import: preview a new SFw workbook / CSV against the warehouse's current taxonomy,
then write it as a new taxonomy version in one transaction and queue the skills-update build.

Written on import (one transaction): a `taxonomy_versions` row, every `taxonomy_skills` row
(batched), one `pending_skill_updates` row per added/changed/removed skill (status `pending`,
for the skills-update build to apply) and an audit event. The build job is queued afterwards.

A file removing more than `max_removal_share` of the current skills (setting
`taxonomy_max_removal_share`, default 20%) is refused unless the import is called with
`allow_removals=True` (the UI's confirmation checkbox, the CLI's `--allow-removals`); the
confirmation is audited (`taxonomy.removals_confirmed`: who, how many of how many).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.adapters.warehouse.repositories import Repositories, Source, repositories
from mlops.adapters.warehouse.taxonomy import PendingUpdate
from mlops.config import Settings
from mlops.domain.clock import timestamp
from mlops.services import audit, jobs
from mlops.services.identity import User, require_role
from mlops.versioning import Version, VersionError
from sea_core.taxonomy import Skill, Taxonomy, load_taxonomy

SKILLS_UPDATE_JOB = "skills-update"
#: The `taxonomy_max_removal_share` setting's default.
DEFAULT_MAX_REMOVAL_SHARE: float = Settings.taxonomy_max_removal_share
REMOVALS_CONFIRMED = "taxonomy.removals_confirmed"


class TaxonomyImportError(ValueError):
    """The import cannot go ahead (nothing changed, unreadable file); the message says why."""


class RemovalsNeedConfirmation(TaxonomyImportError):
    """The file removes more of the current skills than allowed without confirmation."""


@dataclass
class ImportPreview:
    """What importing a file would change; nothing is written to produce it."""

    taxonomy: Taxonomy
    current_version: str | None
    added: list[Skill] = field(default_factory=list)
    changed: list[Skill] = field(default_factory=list)
    removed: list[Skill] = field(default_factory=list)
    #: How many skills the current taxonomy has (0 when none was imported).
    current_count: int = 0

    @property
    def removed_share(self) -> float:
        """The share of the current skills the file removes (0 when there are none)."""
        return len(self.removed) / self.current_count if self.current_count else 0.0

    def needs_removal_confirmation(self, max_share: float = DEFAULT_MAX_REMOVAL_SHARE) -> bool:
        """Whether the file removes more than `max_share` of the current skills."""
        return self.removed_share > max_share

    def removal_summary(self) -> str:
        """E.g. "removes 300 of the 301 current skills (100%)"."""
        return f"removes {len(self.removed):,} of the {self.current_count:,} current skills ({self.removed_share:.0%})"

    @property
    def has_changes(self) -> bool:
        """Whether the file differs from the current taxonomy at all."""
        return bool(self.added or self.changed or self.removed)

    def counts(self) -> dict[str, int]:
        """Number of skills in the file and added/changed/removed."""
        return {
            "skills": len(self.taxonomy),
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
        }

    def rows(self) -> list[dict[str, str]]:
        """One row per difference (change, skill_id, title, type) for display."""
        return [
            {"change": change, "skill_id": s.skill_id, "title": s.title, "type": s.skill_type}
            for change, skills in (
                ("added", self.added),
                ("changed", self.changed),
                ("removed", self.removed),
            )
            for s in skills
        ]


@dataclass(frozen=True)
class ImportResult:
    """The taxonomy version written and the skills-update job queued (None when unavailable)."""

    version: str
    counts: dict[str, int]
    job_id: str | None
    job_error: str | None = None


def current_version(warehouse: Source) -> dict[str, Any] | None:
    """The newest taxonomy version (version, name, checksum, skill_count, created_at,
    created_by), or None when nothing was imported yet."""
    return repositories(warehouse).taxonomy.current_version()


def current_taxonomy(warehouse: Source) -> Taxonomy | None:
    """The newest imported taxonomy, read back from the warehouse; None when there is none."""
    repos = repositories(warehouse)
    head = repos.taxonomy.current_version()
    if head is None:
        return None
    return Taxonomy(
        repos.taxonomy.skills(head["version"]), version=head["version"], name=head.get("name") or ""
    )


def preview_import(warehouse: Source, path: str | Path) -> ImportPreview:
    """Load the file (TaxonomyError on a bad file) and diff it with the current taxonomy."""
    new = load_taxonomy(path)
    current = current_taxonomy(warehouse)
    if current is None:
        return ImportPreview(new, None, added=list(new))
    diff = current.diff(new)
    return ImportPreview(new, current.version, diff["added"], diff["changed"], diff["removed"], len(current))


def _free_version(tx: Repositories, label: str) -> str:
    """`label`, or the next patch version (or `label-N`) that is not taken yet."""
    candidate, n = label, 1
    while tx.taxonomy.has_version(candidate):
        n += 1
        try:
            candidate = str(Version.parse(candidate).bump("patch"))
        except VersionError:
            candidate = f"{label}-{n}"
    return candidate


def import_taxonomy(
    warehouse: Source,
    path: str | Path,
    user: User,
    *,
    queue_build: bool = True,
    allow_removals: bool = False,
    max_removal_share: float = DEFAULT_MAX_REMOVAL_SHARE,
) -> ImportResult:
    """Write the file as a new taxonomy version (admin only) and queue a skills-update build.

    Raises TaxonomyImportError when the file is identical to the current taxonomy,
    RemovalsNeedConfirmation when it removes more than `max_removal_share` of the current
    skills and `allow_removals` is not given (given, the confirmation is audited),
    TaxonomyError when it cannot be read, PermissionDenied without the admin role."""
    user = require_role(user, "admin", "system", action="import a taxonomy", source=warehouse)
    preview = preview_import(warehouse, path)
    if not preview.has_changes:
        raise TaxonomyImportError(
            f"nothing to import: the file is identical to taxonomy version {preview.current_version}"
        )
    confirming = preview.needs_removal_confirmation(max_removal_share)
    if confirming and not allow_removals:
        raise RemovalsNeedConfirmation(
            f"{Path(path).name} {preview.removal_summary()}, more than the {max_removal_share:.0%} "
            "an import may remove without confirmation; check the list, then confirm "
            "(--allow-removals on the command line, the confirmation box in the app)"
        )
    taxonomy = preview.taxonomy
    now = timestamp()
    with repositories(warehouse).transaction() as tx:
        version = _free_version(tx, taxonomy.version or "1.0.0")
        updates = [
            PendingUpdate(
                uuid.uuid4().hex,
                s.skill_id,
                action,
                {"taxonomy_version": version, "skill": s.to_dict()},
                "pending",
                now,
            )
            for action, skills in (
                ("add", preview.added),
                ("change", preview.changed),
                ("remove", preview.removed),
            )
            for s in skills
        ]
        tx.taxonomy.add_version(
            {
                "version": version,
                "name": taxonomy.name or Path(path).name,
                "checksum": taxonomy.checksum,
                "skill_count": len(taxonomy),
                "created_at": now,
                "created_by": user.username,
            },
            taxonomy,
            updates,
        )
        audit.record(
            tx,
            user.username,
            "taxonomy.import",
            version,
            {"file": Path(path).name, "previous": preview.current_version, **preview.counts()},
        )
        if confirming:
            audit.record(
                tx,
                user.username,
                REMOVALS_CONFIRMED,
                version,
                {
                    "file": Path(path).name,
                    "removed": len(preview.removed),
                    "current": preview.current_count,
                    "share": round(preview.removed_share, 4),
                    "max_share": max_removal_share,
                },
            )
    job_id, job_error = None, None
    if queue_build:
        job_id, job_error = _queue_skills_update(warehouse, user, version)
    return ImportResult(version, preview.counts(), job_id, job_error)


def _queue_skills_update(warehouse: Source, user: User, version: str) -> tuple[str | None, str | None]:
    """Queue the skills-update build (`jobs.enqueue`); (job id, None) or (None, why not)."""
    try:
        return jobs.enqueue(warehouse, SKILLS_UPDATE_JOB, {"taxonomy_version": version}, user=user), None
    except Exception as exc:  # the import stands; report why the build was not queued
        return None, f"the skills-update build could not be queued: {exc}"
