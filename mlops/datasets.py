"""Data set checksums and versions, and CSV splits in the artifact store.

Choice of data version: `data_version` is computed, never typed in. The same content (same
checksum) always gets the version it was first given; new content gets the highest known data
version bumped (minor by default; `1.0.0` for the first data set). The registry's records
(`data_checksum` -> `data_version`) are the memory of which content got which version.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops.adapters.store.base import ArtifactStore
from mlops.versioning import Version

#: Where data set snapshots live in the artifact store.
DATASETS_PREFIX = "datasets"


def _canonical_row(row: Any) -> bytes:
    """A row as canonical JSON: mappings with sorted keys, sequences as lists."""
    if isinstance(row, Mapping):
        value: Any = {str(key): row[key] for key in row}
    elif isinstance(row, Sequence) and not isinstance(row, (str, bytes, bytearray)):
        value = list(row)
    else:
        raise TypeError(f"a data row must be a mapping or a sequence, got {type(row).__name__}")
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"data row {row!r} is not JSON-serialisable: {exc}") from exc
    return text.encode("utf-8")


def data_checksum(rows: Iterable[Mapping | Sequence], ordered: bool = False) -> str:
    """The sha256 (hex) of a data set's content.

    Each row is hashed as canonical JSON (mapping keys sorted, so column order does not matter;
    `1` and `"1"` differ). With `ordered=False` the per-row hashes are sorted first, so the
    checksum ignores row order but counts duplicates; with `ordered=True` row order matters.
    """
    row_hashes = [hashlib.sha256(_canonical_row(row)).digest() for row in rows]
    if not ordered:
        row_hashes.sort()
    digest = hashlib.sha256(b"ordered:" if ordered else b"unordered:")
    for row_hash in row_hashes:
        digest.update(row_hash)
    return digest.hexdigest()


def data_version(checksum: str, known: Mapping[str, str] | None = None, kind: str = "minor") -> str:
    """The data version for content with this checksum.

    `known` maps checksums to the data versions already given (e.g. from the registry).
    A known checksum keeps its version; new content gets the highest known version bumped by
    `kind`, or `1.0.0` when nothing is known. Versions in `known` that are not `X.Y.Z` are
    skipped when finding the highest (old records are read, never rejected).
    """
    if not isinstance(checksum, str) or not checksum:
        raise ValueError(f"a data checksum must be a non-empty string, got {checksum!r}")
    known = known or {}
    if checksum in known:
        return str(known[checksum])
    versions = []
    for text in known.values():
        try:
            versions.append(Version.parse(text))
        except ValueError:
            continue
    if not versions:
        return "1.0.0"
    return str(max(versions).bump(kind))


def _cells(row: Any, header: list[str] | None) -> list[str]:
    """One row as CSV cells (None -> empty cell)."""
    if isinstance(row, Mapping):
        if header is None:
            raise ValueError("mapping rows need a header: pass fieldnames or start with a mapping")
        extra = set(map(str, row)) - set(header)
        if extra:
            raise ValueError(f"row has columns {sorted(extra)} not in the header {header}")
        cells = [row.get(name, "") for name in header]
    elif isinstance(row, Sequence) and not isinstance(row, (str, bytes, bytearray)):
        cells = list(row)
    else:
        raise TypeError(f"a data row must be a mapping or a sequence, got {type(row).__name__}")
    return ["" if cell is None else str(cell) for cell in cells]


def write_csv_dataset(
    store: ArtifactStore,
    key: str,
    rows: Iterable[Mapping | Sequence],
    fieldnames: Sequence[str] | None = None,
) -> tuple[str, int]:
    """Write rows as a CSV object under `key`; returns (checksum, number of data rows).

    With `fieldnames`, or when the first row is a mapping (its keys then name the columns),
    the file starts with a header and reads back as dicts; otherwise it has no header and
    reads back as lists. The checksum is `data_checksum` of the rows as `read_csv_dataset`
    returns them (every cell a string), so it can be re-verified from the stored object.
    Rows are streamed through a temporary file, never held in memory.
    """
    header = [str(name) for name in fieldnames] if fieldnames is not None else None
    fd, tmp_name = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            first = True
            for row in rows:
                if first and header is None and isinstance(row, Mapping):
                    header = [str(name) for name in row]
                if first and header is not None:
                    writer.writerow(header)
                writer.writerow(_cells(row, header))
                first = False
            if first and header is not None:
                writer.writerow(header)
        count = 0
        with open(tmp_name, newline="", encoding="utf-8") as handle:

            def counted() -> Iterator[Mapping | Sequence]:
                nonlocal count
                for parsed in _parse_csv(handle, header is not None):
                    count += 1
                    yield parsed

            checksum = data_checksum(counted())
        store.put_file(key, tmp_name)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return checksum, count


def _parse_csv(handle: Iterable[str], has_header: bool) -> Iterator[Mapping | Sequence]:
    reader = csv.reader(handle)
    if not has_header:
        yield from reader
        return
    columns = next(reader, None)
    if columns is None:
        return
    for cells in reader:
        yield dict(zip(columns, cells))


def read_csv_dataset(store: ArtifactStore, key: str, header: bool = True) -> list:
    """The rows of a CSV object: dicts of strings (`header=True`) or lists of strings."""
    text = store.get_bytes(key).decode("utf-8")
    return list(_parse_csv(io.StringIO(text, newline=""), has_header=header))


def store_dataset_snapshot(
    store: ArtifactStore, name: str, rows: Sequence[Mapping[str, str]], fieldnames: Sequence[str]
) -> tuple[str, str]:
    """Store a data set snapshot once per content as `datasets/<name>/<checksum>.csv` (the
    checksum of `data_checksum` over the rows, cells as strings); returns (key, checksum)."""
    checksum = data_checksum(rows)
    key = f"{DATASETS_PREFIX}/{name}/{checksum}.csv"
    if not store.exists(key):
        write_csv_dataset(store, key, rows, fieldnames=fieldnames)
    return key, checksum
