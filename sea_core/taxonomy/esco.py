"""Loader for the ESCO skills CSV (`conceptUri, preferredLabel, altLabelsAndDescription`)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from .csv_records import read_records, single_line
from .errors import TaxonomyError
from .model import Skill, Taxonomy

ESCO_COLUMNS = ("conceptUri", "preferredLabel", "altLabelsAndDescription")
BUNDLED_ESCO = Path(__file__).resolve().parent.parent / "data" / "esco_skills_v1.1.0_en.csv.gz"

# The description starts at the first capitalised word that opens a sentence ending in a full stop;
# alternative labels before it are lower case (ESCO's own labels are written that way).
_DESCRIPTION_START = re.compile(r"(?:^|\s)([A-Z][a-z]+(?:[\s,][^.]*)?\.)")


def split_alt_labels_and_description(text: str) -> tuple[str, str]:
    """Split ESCO's joined `altLabelsAndDescription` into (alternative-label text, description)."""
    text = " ".join(text.split())
    match = _DESCRIPTION_START.search(text)
    if not match:
        return text, ""
    start = match.start(1)
    return text[:start].strip(), text[start:].strip()


def read_text(path: Path) -> str:
    """Read a (possibly gzipped) UTF-8 text file, with a clear error on a wrong encoding."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise TaxonomyError(f"not a valid gzip file ({exc})", file=str(path)) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TaxonomyError(
            f"not UTF-8 text (byte {exc.start}, line {line}); save the file as UTF-8",
            file=str(path),
            row=line,
        ) from exc


def load_esco_csv(path: str | Path, version: str | None = None) -> Taxonomy:
    """Load an ESCO skills CSV (plain or .gz) into a Taxonomy of type `skill`. Raises
    TaxonomyError naming file, row and column (malformed CSV, e.g. an unbalanced quote, a field
    over the CSV field size limit, a title spanning lines)."""
    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise TaxonomyError("the file is empty", file=str(path))
    records = [r for r in read_records(text, str(path)) if r.values]  # blank lines skipped
    fieldnames = records[0].values
    missing = [c for c in ESCO_COLUMNS[1:] if c not in fieldnames]
    if missing:
        raise TaxonomyError(
            f"missing column(s) {', '.join(missing)}; found {fieldnames}",
            file=str(path),
            row=1,
            column=missing[0],
        )
    skills: list[Skill] = []
    seen: dict[str, int] = {}
    for row_number, record in enumerate(records[1:], start=2):
        row = dict(zip(fieldnames, record.values))
        label = single_line(
            row.get("preferredLabel") or "", str(path), row_number, "preferredLabel", record.line
        )
        title = " ".join(label.split())
        if not title:
            raise TaxonomyError("empty title", file=str(path), row=row_number, column="preferredLabel")
        key = title.lower()
        if key in seen:
            raise TaxonomyError(
                f"duplicate skill {title!r} (first on row {seen[key]})",
                file=str(path),
                row=row_number,
                column="preferredLabel",
            )
        seen[key] = row_number
        alt_text, description = split_alt_labels_and_description(row.get("altLabelsAndDescription") or "")
        skills.append(
            Skill(
                title=title,
                skill_type="skill",
                description=description,
                alt_labels=(alt_text,) if alt_text else (),
                source="esco",
                code=(row.get("conceptUri") or "").strip(),
            )
        )
    if not skills:
        raise TaxonomyError("no skills in the file (only a header)", file=str(path))
    name = path.name.split(".csv")[0]
    return Taxonomy(skills, version=version or version_from_name(name), name=name)


def version_from_name(name: str) -> str:
    match = re.search(r"v(\d+\.\d+\.\d+)", name)
    return match.group(1) if match else "1.0.0"


def bundled_taxonomy() -> Taxonomy:
    """The ESCO 1.1.0 taxonomy shipped with the project (the default)."""
    return load_esco_csv(BUNDLED_ESCO)
