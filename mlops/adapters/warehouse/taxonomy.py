"""The taxonomy's repository: imported taxonomy versions, their skills, and the pending skill
updates a skills-update build applies."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlops.adapters.warehouse.base import Session
from sea_core.taxonomy import Skill

LIST_COLUMNS = ("alt_labels", "tags", "proficiency_levels")
SKILL_COLUMNS = (
    "taxonomy_version",
    "skill_id",
    "title",
    "skill_type",
    "description",
    "alt_labels",
    "tags",
    "proficiency_levels",
    "sector",
    "category",
    "source",
    "code",
    "content_hash",
)
VERSION_FIELDS = ("version", "name", "checksum", "skill_count", "created_at", "created_by")


@dataclass(frozen=True)
class PendingUpdate:
    """One added/changed/removed skill for the skills-update build to apply."""

    update_id: str
    skill_id: str
    action: str
    payload: dict[str, Any]
    status: str
    created_at: str


class TaxonomyRepository(ABC):
    """Where imported taxonomies are stored; a version is a dict with the `VERSION_FIELDS`."""

    @abstractmethod
    def current_version(self) -> dict[str, Any] | None:
        """The newest version (`created_at`, then `version`, descending), or None."""

    @abstractmethod
    def has_version(self, version: str) -> bool:
        """Whether the version label is taken."""

    @abstractmethod
    def skills(self, version: str) -> list[Skill]:
        """The skills of a version, by title then skill id."""

    @abstractmethod
    def add_version(
        self, version: dict[str, Any], skills: Iterable[Skill], updates: list[PendingUpdate]
    ) -> None:
        """Store a version with all its skills and pending updates."""


def _skill(row: dict[str, Any]) -> Skill:
    lists = {}
    for name in LIST_COLUMNS:
        try:
            lists[name] = tuple(json.loads(row.get(name) or "[]"))
        except ValueError:
            lists[name] = ()
    return Skill(
        title=row["title"],
        skill_type=row.get("skill_type") or "skill",
        description=row.get("description") or "",
        sector=row.get("sector") or "",
        category=row.get("category") or "",
        source=row.get("source") or "",
        code=row.get("code") or "",
        skill_id=row["skill_id"],
        **lists,
    )


def _skill_row(version: str, skill: Skill) -> tuple:
    return (
        version,
        skill.skill_id,
        skill.title,
        skill.skill_type,
        skill.description,
        *(json.dumps(list(getattr(skill, n)), ensure_ascii=False) for n in LIST_COLUMNS),
        skill.sector,
        skill.category,
        skill.source,
        skill.code,
        skill.content_hash(),
    )


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class SqlTaxonomyRepository(TaxonomyRepository):
    """`taxonomy_versions`, `taxonomy_skills` and `pending_skill_updates`."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def current_version(self) -> dict[str, Any] | None:
        return self.db.query_one(
            f"SELECT {', '.join(VERSION_FIELDS)} FROM taxonomy_versions "
            "ORDER BY created_at DESC, version DESC LIMIT 1"
        )

    def has_version(self, version: str) -> bool:
        return (
            self.db.query_one("SELECT version FROM taxonomy_versions WHERE version = ?", (version,))
            is not None
        )

    def skills(self, version: str) -> list[Skill]:
        rows = self.db.query(
            f"SELECT {', '.join(SKILL_COLUMNS[1:])} FROM taxonomy_skills "
            "WHERE taxonomy_version = ? ORDER BY title, skill_id",
            (version,),
        )
        return [_skill(r) for r in rows]

    def add_version(
        self, version: dict[str, Any], skills: Iterable[Skill], updates: list[PendingUpdate]
    ) -> None:
        label = version["version"]
        self.db.execute(
            f"INSERT INTO taxonomy_versions ({', '.join(VERSION_FIELDS)}) "
            f"VALUES ({_marks(len(VERSION_FIELDS))})",
            tuple(version[name] for name in VERSION_FIELDS),
        )
        self.db.executemany(
            f"INSERT INTO taxonomy_skills ({', '.join(SKILL_COLUMNS)}) VALUES ({_marks(len(SKILL_COLUMNS))})",
            (_skill_row(label, s) for s in skills),
        )
        if updates:
            self.db.executemany(
                "INSERT INTO pending_skill_updates (update_id, skill_id, action, payload, status, "
                "created_at, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        u.update_id,
                        u.skill_id,
                        u.action,
                        json.dumps(u.payload, ensure_ascii=False),
                        u.status,
                        u.created_at,
                        None,
                    )
                    for u in updates
                ],
            )
