"""Loader for a plain skills CSV (UTF-8, optionally gzipped), one skill per row.

Columns (headers matched ignoring case, spaces and underscores; other columns are ignored):
`title` (required), `type` (one of model.SKILL_TYPES, any case; default `skill`),
`description`, `alt_labels`, `tags`, `proficiency_levels` (these three `;`-separated),
`sector`, `category`, `code`, `source` (default `csv`).
"""

from __future__ import annotations

from pathlib import Path

from .csv_records import read_records, single_line
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
#: Fields that are one line by nature: a line break in one means a quote swallowed rows.
SINGLE_LINE = ("title", "type", "code")


def load_plain_csv(path: str | Path, version: str | None = None) -> Taxonomy:
    """Load a plain skills CSV into a Taxonomy. Raises TaxonomyError naming file, row, column
    (also for malformed CSV such as an unbalanced quote, a field over the CSV field size limit,
    and a title or type spanning lines)."""
    path = require_file(path)
    file = str(path)
    text = read_text(path)
    if not text.strip():
        raise TaxonomyError("the file is empty", file=file)
    records = read_records(text, file)
    header = records[0].values
    columns = match_columns(header, PLAIN_COLUMNS)
    if "title" not in columns:
        raise TaxonomyError(f"missing column 'title'; found {header}", file=file, row=1, column="title")
    skills: list[Skill] = []
    seen: dict[str, int] = {}
    for record in records[1:]:
        number, values = record.row, record.values
        if all(not cell_text(value) for value in values):
            continue

        def cell(field: str) -> str:
            index = columns.get(field)
            if index is None or index >= len(values):
                return ""
            if field in SINGLE_LINE:
                single_line(values[index], file, number, field, record.line)
            return cell_text(values[index])

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
