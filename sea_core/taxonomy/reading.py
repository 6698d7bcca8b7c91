"""Helpers shared by the taxonomy file loaders: file checks, header matching, cell values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import TaxonomyError


def require_file(path: str | Path) -> Path:
    """`path` as a Path; TaxonomyError when it is missing, not a file, or empty."""
    path = Path(path)
    if not path.exists():
        raise TaxonomyError("no such file", file=str(path))
    if not path.is_file():
        raise TaxonomyError("not a file", file=str(path))
    if path.stat().st_size == 0:
        raise TaxonomyError("the file is empty", file=str(path))
    return path


def header_key(name: object) -> str:
    """A header cell as a comparison key: lower case, without spaces, underscores, hyphens or a
    byte-order mark ("Skill Title", "skill-title" and "skill_title" are one column)."""
    return re.sub(r"[\s_\-\ufeff]+", "", "" if name is None else str(name)).lower()


def match_columns(header: Sequence[object], aliases: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Map each field of `aliases` to the index of the first header cell that matches one of its
    names (case-, space- and underscore-insensitively); fields with no match are left out."""
    keys = [header_key(cell) for cell in header]
    found: dict[str, int] = {}
    for field, names in aliases.items():
        for name in names:
            key = header_key(name)
            if key in keys:
                found[field] = keys.index(key)
                break
    return found


def cell_text(value: object) -> str:
    """A cell value as clean text: None -> "", 3.0 -> "3", whitespace runs -> one space."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def split_list(value: object) -> tuple[str, ...]:
    """A `;`-separated cell as a tuple of non-empty, stripped items (order kept, no repeats)."""
    items: list[str] = []
    for part in cell_text(value).split(";"):
        part = part.strip()
        if part and part not in items:
            items.append(part)
    return tuple(items)
