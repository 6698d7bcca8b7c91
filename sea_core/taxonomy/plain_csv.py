"""Loader for a plain skills CSV (UTF-8, optionally gzipped), one skill per row.

Columns (headers matched ignoring case, spaces and underscores; other columns are ignored):
`title` (required), `type` (one of model.SKILL_TYPES, any case; default `skill`),
`description`, `alt_labels`, `tags`, `proficiency_levels` (these three `;`-separated),
`sector`, `category`, `code`, `source` (default `csv`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .errors import TaxonomyError
from .esco import read_text, version_from_name
from .model import SKILL_TYPES, Skill, Taxonomy
from .reading import cell_text, match_columns, require_file, split_list

PLAIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "type": ("type", "skill_type"),
    "description": ("description",),
    "alt_labels": ("alt_labels",),
    "tags": ("tags",),
    "proficiency_levels": ("proficiency_levels",),
    "sector": ("sector",),
    "category": ("category",),
    "code": ("code",),
    "source": ("source",),
}
DEFAULT_SOURCE = "csv"


def load_plain_csv(path: str | Path, version: str | None = None) -> Taxonomy:
    """Load a plain skills CSV into a Taxonomy. Raises TaxonomyError naming file, row, column."""
    path = require_file(path)
    file = str(path)
    text = read_text(path)
    if not text.strip():
        raise TaxonomyError("the file is empty", file=file)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise TaxonomyError(f"not a valid CSV file ({exc})", file=file) from exc
    header = rows[0]
    columns = match_columns(header, PLAIN_COLUMNS)
    if "title" not in columns:
        raise TaxonomyError(f"missing column 'title'; found {header}", file=file, row=1, column="title")
    skills: list[Skill] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(rows[1:], start=2):
        if all(not cell_text(value) for value in values):
            continue

        def cell(field: str) -> str:
            index = columns.get(field)
            return cell_text(values[index]) if index is not None and index < len(values) else ""

        title = cell("title")
        if not title:
            raise TaxonomyError("empty title", file=file, row=number, column="title")
        skill_type = cell("type").lower() or "skill"
        if skill_type not in SKILL_TYPES:
            raise TaxonomyError(
                f"type {skill_type!r} is not one of {', '.join(SKILL_TYPES)}",
                file=file,
                row=number,
                column="type",
            )
        skill = Skill(
            title=title,
            skill_type=skill_type,
            description=cell("description"),
            alt_labels=split_list(cell("alt_labels")),
            tags=split_list(cell("tags")),
            proficiency_levels=split_list(cell("proficiency_levels")),
            sector=cell("sector"),
            category=cell("category"),
            source=cell("source") or DEFAULT_SOURCE,
            code=cell("code"),
        )
        if skill.skill_id in seen:
            raise TaxonomyError(
                f"duplicate skill {title!r} (same type, code and source as row {seen[skill.skill_id]})",
                file=file,
                row=number,
                column="title",
            )
        seen[skill.skill_id] = number
        skills.append(skill)
    if not skills:
        raise TaxonomyError("no skills in the file (only a header)", file=file, row=1)
    name = path.name.split(".csv")[0]
    return Taxonomy(skills, version=version or version_from_name(name), name=name)
