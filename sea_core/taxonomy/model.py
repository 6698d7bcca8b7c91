"""The taxonomy domain model: a `Skill` and a versioned, checksummed `Taxonomy`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

SKILL_TYPES = ("tsc", "ccs", "knowledge", "skill", "competence", "ability")
ALT_LABELS_WEIGHT = 0.5
DESCRIPTION_WEIGHT = 0.5


def skill_id_for(title: str, skill_type: str, source: str = "", code: str = "") -> str:
    """Stable id of a skill: sha256 of its identity (source, code or URI, type, title).

    The identity leaves out the description and labels, so editing those keeps the id and
    the change shows up as a changed skill rather than a removed plus an added one.
    """
    identity = "\x1f".join(
        [source.strip().lower(), code.strip(), skill_type.strip().lower(), " ".join(title.split()).lower()]
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Skill:
    """One skill of a taxonomy. `skill_id` is derived from its identity when not given."""

    title: str
    skill_type: str = "skill"
    description: str = ""
    alt_labels: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    proficiency_levels: tuple[str, ...] = ()
    sector: str = ""
    category: str = ""
    source: str = ""
    code: str = ""
    skill_id: str = field(default="")

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not self.title.strip():
            raise ValueError("a skill needs a non-empty title")
        for name in ("alt_labels", "tags", "proficiency_levels"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if not self.skill_id:
            object.__setattr__(
                self, "skill_id", skill_id_for(self.title, self.skill_type, self.source, self.code)
            )

    def embedding_parts(self) -> list[tuple[str, float]]:
        """Texts the encoder sees for this skill and their weights in its vector: the title,
        plus the alternative labels and the description at half weight each (they add the
        wording job ads use; tuned on the development benchmark)."""
        parts = [(self.title, 1.0)]
        if self.alt_labels:
            parts.append((" ".join(self.alt_labels), ALT_LABELS_WEIGHT))
        if self.description:
            parts.append((self.description, DESCRIPTION_WEIGHT))
        return parts

    def content_hash(self) -> str:
        """sha256 of every field: changes whenever anything about the skill changes."""
        payload = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        """Plain-JSON form (lists instead of tuples)."""
        data = asdict(self)
        for name in ("alt_labels", "tags", "proficiency_levels"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Skill:
        """Inverse of `to_dict`; unknown keys are ignored."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


class Taxonomy:
    """An ordered, immutable set of skills with a version label and a content checksum."""

    def __init__(self, skills: Iterable[Skill], version: str = "unversioned", name: str = "") -> None:
        self._skills: tuple[Skill, ...] = tuple(skills)
        self.version = version
        self.name = name
        self._by_id: dict[str, int] = {}
        for index, skill in enumerate(self._skills):
            if skill.skill_id in self._by_id:
                raise ValueError(f"duplicate skill {skill.title!r} (skill_id {skill.skill_id[:12]}…)")
            self._by_id[skill.skill_id] = index
        self._checksum: str | None = None

    def __len__(self) -> int:
        return len(self._skills)

    def __iter__(self) -> Iterator[Skill]:
        return iter(self._skills)

    def __getitem__(self, index: int) -> Skill:
        return self._skills[index]

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self._by_id

    @property
    def skills(self) -> tuple[Skill, ...]:
        return self._skills

    @property
    def skill_ids(self) -> list[str]:
        return [s.skill_id for s in self._skills]

    def get(self, skill_id: str) -> Skill | None:
        """The skill with this id, or None."""
        index = self._by_id.get(skill_id)
        return None if index is None else self._skills[index]

    def index_of(self, skill_id: str) -> int:
        """Position of a skill in this taxonomy (KeyError when absent)."""
        return self._by_id[skill_id]

    @property
    def checksum(self) -> str:
        """sha256 over the skills' content hashes, independent of their order."""
        if self._checksum is None:
            digest = hashlib.sha256()
            for h in sorted(s.content_hash() for s in self._skills):
                digest.update(h.encode("ascii"))
            self._checksum = digest.hexdigest()
        return self._checksum

    def diff(self, other: Taxonomy) -> dict[str, list[Skill]]:
        """What changes going from self to `other`: added, changed (new form) and removed skills."""
        added, changed = [], []
        for skill in other:
            mine = self.get(skill.skill_id)
            if mine is None:
                added.append(skill)
            elif mine.content_hash() != skill.content_hash():
                changed.append(skill)
        removed = [s for s in self._skills if s.skill_id not in other]
        return {"added": added, "changed": changed, "removed": removed}
