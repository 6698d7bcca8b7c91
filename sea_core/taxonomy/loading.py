"""`load_taxonomy`: pick the loader for a taxonomy file from its name and header."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from .errors import TaxonomyError
from .esco import ESCO_COLUMNS, load_esco_csv
from .model import Taxonomy
from .plain_csv import load_plain_csv
from .reading import require_file
from .sfw import load_sfw_workbook

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".csv.gz")


def load_taxonomy(
    path: str | Path, version: str | None = None, *, include_knowledge: bool = False
) -> Taxonomy:
    """Load a taxonomy file: .xlsx/.xlsm -> SFw workbook; .csv/.csv.gz -> ESCO when the header
    has ESCO's columns, else plain CSV. `include_knowledge` applies to SFw workbooks only.
    Returns the whole Taxonomy or raises TaxonomyError (never a partial result)."""
    path = require_file(path)
    name = path.name.lower()
    if name.endswith(WORKBOOK_SUFFIXES):
        return load_sfw_workbook(path, version, include_knowledge=include_knowledge)
    if name.endswith(CSV_SUFFIXES):
        if is_esco_csv(path):
            return load_esco_csv(path, version)
        return load_plain_csv(path, version)
    raise TaxonomyError(
        f"unknown taxonomy file type; expected {', '.join(WORKBOOK_SUFFIXES + CSV_SUFFIXES)}", file=str(path)
    )


def is_esco_csv(path: Path) -> bool:
    """Whether the (possibly gzipped) CSV's header has ESCO's `preferredLabel` and
    `altLabelsAndDescription` columns. Reads the first line only; undecodable bytes are
    replaced (the loader reports encoding errors)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as handle:
            header = next(csv.reader([handle.readline()]), [])
    except (OSError, EOFError, csv.Error):
        return False  # the loader reports the real problem (e.g. a corrupt gzip)
    return set(ESCO_COLUMNS[1:]) <= {cell.strip() for cell in header}
