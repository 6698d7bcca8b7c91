"""Loader for a SkillsFuture Framework (SFw) Excel workbook (.xlsx / .xlsm).

Headers are matched ignoring case, spaces and underscores ("tsc_ccs  TITLE" matches
"TSC_CCS Title"); the header row is the first of the first 20 rows that holds all required
columns (title rows above it are skipped); other columns are ignored; empty rows are skipped.

Sheet ``TSC_CCS_Key`` (required): one row per Technical Skill & Competency (TSC) or Critical
Core Skill (CCS).

==========================  ======================================================================
column (aliases)            meaning
==========================  ======================================================================
TSC_CCS Title (TSC Title,   the skill's title (required, non-empty)
Title)
TSC_CCS Type (TSC Type,     ``tsc`` or ``ccs`` in any case; also "Technical Skills and
Type)                       Competencies", "Critical Core Skills", "GSC" (required)
TSC Code (TSC_CCS Code,     the SFw code, e.g. ``ACC-BGT-3001-1.1`` (optional; part of the
Code)                       skill's identity, links K&A rows)
Sector                      e.g. "Accountancy" (optional)
TSC_CCS Category (TSC       e.g. "Budgeting" (optional)
Category, Category)
TSC_CCS Description (TSC    the skill's description (optional)
Description, Description)
Tags (Tag)                  ``;``-separated tags (optional)
Emerging (Emerging TSC,     yes / y / true / 1 / x / emerging -> tag "Emerging TSC" (or
Emerging Skill)             "Emerging CCS") (optional)
==========================  ======================================================================

Sheet ``TSC_CCS_K&A`` (optional): one row per knowledge or ability item of a proficiency level.

=====================================  ===========================================================
column (aliases)                       meaning
=====================================  ===========================================================
TSC Code (TSC_CCS Code, Code) and/or   the key-sheet skill the row belongs to: by code when the
TSC_CCS Title (TSC Title, Title)       row has one, else by title (all key rows with that title)
Proficiency Level (Level)              e.g. 3 (required column; empty cells allowed)
Knowledge / Ability Classification     ``knowledge`` or ``ability``, any case (required)
(Knowledge/Ability Classification,
K&A Classification, Classification)
Knowledge / Ability Items (Knowledge   the item's text (required column; empty cells allowed)
/ Ability Item, K&A Items, Items)
=====================================  ===========================================================

Each TSC/CCS gets its proficiency levels from its K&A rows (sorted, numerically where they are
numbers). With ``include_knowledge=True`` every distinct knowledge item (case-insensitive)
also becomes a skill of type ``knowledge``. A K&A row naming a skill that is not on the key
sheet is an error. Skills have ``source="sfw"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal, overload

from .errors import TaxonomyError
from .esco import version_from_name
from .model import Skill, Taxonomy
from .reading import cell_text, header_key, match_columns, require_file, split_list

KEY_SHEET = "TSC_CCS_Key"
KA_SHEET = "TSC_CCS_K&A"
HEADER_SEARCH_ROWS = 20

KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("TSC_CCS Title", "TSC Title", "Title"),
    "type": ("TSC_CCS Type", "TSC Type", "Type"),
    "code": ("TSC Code", "TSC_CCS Code", "Code"),
    "sector": ("Sector",),
    "category": ("TSC_CCS Category", "TSC Category", "Category"),
    "description": ("TSC_CCS Description", "TSC Description", "Description"),
    "tags": ("Tags", "Tag"),
    "emerging": ("Emerging", "Emerging TSC", "Emerging Skill"),
}
KEY_REQUIRED = ("title", "type")

KA_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": KEY_COLUMNS["code"],
    "title": KEY_COLUMNS["title"],
    "level": ("Proficiency Level", "Level"),
    "classification": ("Knowledge / Ability Classification", "K&A Classification", "Classification"),
    "item": ("Knowledge / Ability Items", "Knowledge / Ability Item", "K&A Items", "Items"),
}
KA_REQUIRED = ("level", "classification", "item")

SKILL_TYPE_NAMES = {
    "tsc": "tsc",
    "technical skills and competencies": "tsc",
    "technical skill": "tsc",
    "ccs": "ccs",
    "critical core skills": "ccs",
    "critical core skill": "ccs",
    "gsc": "ccs",
    "generic skills and competencies": "ccs",
}
EMERGING_YES = frozenset({"yes", "y", "true", "1", "x", "emerging", "emerging tsc", "emerging ccs"})

Row = tuple[int, tuple[object, ...]]


def load_sfw_workbook(
    path: str | Path, version: str | None = None, *, include_knowledge: bool = False
) -> Taxonomy:
    """Load an SFw workbook into a Taxonomy of `tsc`/`ccs` skills (plus `knowledge` skills
    when `include_knowledge`). Raises TaxonomyError naming file, sheet, row and column."""
    path = require_file(path)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip/XML/openpyxl errors come in many types
        raise TaxonomyError(
            f"not a readable Excel workbook ({type(exc).__name__}: {exc})", file=str(path)
        ) from exc
    try:
        key_rows = _sheet_rows(workbook, KEY_SHEET, path, required=True)
        ka_rows = _sheet_rows(workbook, KA_SHEET, path, required=False)
    finally:
        workbook.close()
    skills = _key_skills(key_rows, str(path))
    knowledge = _apply_ka(skills, ka_rows or [], str(path))
    result = [Skill(**fields) for fields in skills]
    if include_knowledge:
        result.extend(Skill(title=title, skill_type="knowledge", source="sfw") for title in knowledge)
    return Taxonomy(result, version=version or version_from_name(path.name), name=path.stem)


@overload
def _sheet_rows(workbook, wanted: str, path: Path, required: Literal[True]) -> list[Row]: ...
@overload
def _sheet_rows(workbook, wanted: str, path: Path, required: bool) -> list[Row] | None: ...
def _sheet_rows(workbook, wanted: str, path: Path, required: bool) -> list[Row] | None:
    """All rows of the sheet named `wanted` (name matched loosely) as (row number, values);
    None when the sheet is absent and not required."""
    names = {header_key(name): name for name in workbook.sheetnames}
    name = names.get(header_key(wanted))
    if name is None:
        if not required:
            return None
        raise TaxonomyError(
            f"missing sheet {wanted!r}; the workbook has {workbook.sheetnames}", file=str(path), sheet=wanted
        )
    try:
        return [
            (number, tuple(values))
            for number, values in enumerate(workbook[name].iter_rows(values_only=True), start=1)
        ]
    except Exception as exc:  # a corrupt sheet fails while it is read
        raise TaxonomyError(
            f"cannot read the sheet ({type(exc).__name__}: {exc})", file=str(path), sheet=name
        ) from exc


def _find_header(
    rows: list[Row], columns: dict[str, tuple[str, ...]], required: tuple[str, ...], sheet: str, file: str
) -> tuple[int, dict[str, int]]:
    """(index in `rows` of the header row, field -> column index); error when no row among the
    first HEADER_SEARCH_ROWS has every required column."""
    best: tuple[int, dict[str, int]] | None = None
    for index, (_, values) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found = match_columns(values, columns)
        if all(field in found for field in required):
            return index, found
        if found and (best is None or len(found) > len(best[1])):
            best = (index, found)
    if not rows or all(_is_empty(values) for _, values in rows):
        raise TaxonomyError("the sheet is empty", file=file, sheet=sheet)
    found = best[1] if best else {}
    missing = [columns[field][0] for field in required if field not in found]
    row = rows[best[0]][0] if best else None
    raise TaxonomyError(
        f"missing column(s) {', '.join(repr(m) for m in missing)} "
        f"(header searched in the first {HEADER_SEARCH_ROWS} rows)",
        file=file,
        sheet=sheet,
        row=row,
        column=missing[0],
    )


def _data_rows(rows: list[Row], header_index: int) -> Iterator[Row]:
    """The non-empty rows after the header."""
    for number, values in rows[header_index + 1 :]:
        if not _is_empty(values):
            yield number, values


def _is_empty(values: tuple[object, ...]) -> bool:
    return all(cell_text(value) == "" for value in values)


def _cell(values: tuple[object, ...], columns: dict[str, int], field: str) -> str:
    index = columns.get(field)
    return cell_text(values[index]) if index is not None and index < len(values) else ""


def _key_skills(rows: list[Row], file: str) -> list[dict]:
    """Skill fields for every key-sheet row, checked for empty titles, bad types, duplicates."""
    header_index, columns = _find_header(rows, KEY_COLUMNS, KEY_REQUIRED, KEY_SHEET, file)
    headers = {field: KEY_COLUMNS[field][0] for field in KEY_COLUMNS}
    skills: list[dict] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, values in _data_rows(rows, header_index):

        def cell(field: str) -> str:
            return _cell(values, columns, field)

        title = cell("title")
        if not title:
            raise TaxonomyError(
                "empty title", file=file, sheet=KEY_SHEET, row=number, column=headers["title"]
            )
        raw_type = cell("type")
        skill_type = SKILL_TYPE_NAMES.get(raw_type.lower())
        if skill_type is None:
            raise TaxonomyError(
                f"type {raw_type!r} is not tsc or ccs",
                file=file,
                sheet=KEY_SHEET,
                row=number,
                column=headers["type"],
            )
        code = cell("code")
        identity = (skill_type, code, title.lower())
        if identity in seen:
            raise TaxonomyError(
                f"duplicate skill {title!r} ({skill_type}, code {code!r}; first on row {seen[identity]})",
                file=file,
                sheet=KEY_SHEET,
                row=number,
                column=headers["title"],
            )
        seen[identity] = number
        tags = list(split_list(cell("tags")))
        if cell("emerging").lower() in EMERGING_YES:
            emerging = f"Emerging {skill_type.upper()}"
            if emerging not in tags:
                tags.append(emerging)
        skills.append(
            {
                "title": title,
                "skill_type": skill_type,
                "description": cell("description"),
                "sector": cell("sector"),
                "category": cell("category"),
                "code": code,
                "tags": tuple(tags),
                "source": "sfw",
            }
        )
    if not skills:
        raise TaxonomyError(
            "no skills in the sheet (only a header)", file=file, sheet=KEY_SHEET, row=rows[header_index][0]
        )
    return skills


def _apply_ka(skills: list[dict], rows: list[Row], file: str) -> list[str]:
    """Give each skill its proficiency levels from the K&A rows; return the distinct knowledge
    items in order of first appearance."""
    by_code: dict[str, list[int]] = {}
    by_title: dict[str, list[int]] = {}
    for index, skill in enumerate(skills):
        if skill["code"]:
            by_code.setdefault(skill["code"].lower(), []).append(index)
        by_title.setdefault(skill["title"].lower(), []).append(index)
    levels: list[set[str]] = [set() for _ in skills]
    knowledge: dict[str, str] = {}
    if not rows or all(_is_empty(values) for _, values in rows):
        rows = []
    if rows:
        header_index, columns = _find_header(rows, KA_COLUMNS, KA_REQUIRED, KA_SHEET, file)
        if "code" not in columns and "title" not in columns:
            raise TaxonomyError(
                f"missing column {KA_COLUMNS['code'][0]!r} or "
                f"{KA_COLUMNS['title'][0]!r} (which skill each row belongs to)",
                file=file,
                sheet=KA_SHEET,
                row=rows[header_index][0],
                column=KA_COLUMNS["code"][0],
            )
        for number, values in _data_rows(rows, header_index):
            targets = _ka_targets(values, columns, by_code, by_title, file, number)
            classification = _cell(values, columns, "classification").lower()
            if classification not in ("knowledge", "ability"):
                raise TaxonomyError(
                    f"classification {classification!r} is not knowledge or ability",
                    file=file,
                    sheet=KA_SHEET,
                    row=number,
                    column=KA_COLUMNS["classification"][0],
                )
            level = _cell(values, columns, "level")
            if level:
                for index in targets:
                    levels[index].add(level)
            item = _cell(values, columns, "item")
            if classification == "knowledge" and item:
                knowledge.setdefault(item.lower(), item)
    for skill, skill_levels in zip(skills, levels):
        skill["proficiency_levels"] = tuple(sorted(skill_levels, key=_level_order))
    return list(knowledge.values())


def _ka_targets(
    values: tuple[object, ...],
    columns: dict[str, int],
    by_code: dict[str, list[int]],
    by_title: dict[str, list[int]],
    file: str,
    number: int,
) -> list[int]:
    """Indexes of the key-sheet skills a K&A row belongs to (by code, else by title)."""
    code = _cell(values, columns, "code")
    if code:
        if code.lower() not in by_code:
            raise TaxonomyError(
                f"TSC code {code!r} is not on sheet {KEY_SHEET!r}",
                file=file,
                sheet=KA_SHEET,
                row=number,
                column=KA_COLUMNS["code"][0],
            )
        return by_code[code.lower()]
    title = _cell(values, columns, "title")
    if not title:
        raise TaxonomyError(
            "row names neither a TSC code nor a title",
            file=file,
            sheet=KA_SHEET,
            row=number,
            column=KA_COLUMNS["title"][0],
        )
    if title.lower() not in by_title:
        raise TaxonomyError(
            f"title {title!r} is not on sheet {KEY_SHEET!r}",
            file=file,
            sheet=KA_SHEET,
            row=number,
            column=KA_COLUMNS["title"][0],
        )
    return by_title[title.lower()]


def _level_order(level: str) -> tuple[int, float, str]:
    try:
        return (0, float(level), level)
    except ValueError:
        return (1, 0.0, level)
