"""Input and output files of a bulk run: JSON lines, CSV or Parquet.

Input: one record per JSON line (an object with `text` and optionally `id`, or a bare JSON
string), per CSV row (a header with a `text` column, optionally `id`; other columns are
ignored) or per Parquet row (the same columns). CSV and Parquet column names match whatever
their case or spacing ("Text", "ID": `match_columns`), and a UTF-8 byte-order mark, which
spreadsheets write, is not part of the first line or header. Blank JSON lines are not
records. Each record becomes an `InputRow` numbered from 0; one that cannot be extracted (bad
JSON, no text, an empty or too long text, ...) carries its `Reject`.

Output: one row per extracted record, `id` first, then the production record
(`modelVersion, timestamp, requestId, original_input, skillExtractOutput`). JSON lines keep the
skill list as JSON; CSV and Parquet hold it as JSON text in the `skillExtractOutput` column.
Rejects are always JSON lines (`Reject.to_dict`).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from mlops.services.batch.rows import BAD_JSON, BAD_ROW, InputRow, Reject
from sea_core.taxonomy.csv_records import field_size_limit
from sea_core.taxonomy.reading import match_columns
from sea_core.text_encoding import first_invalid_utf8
from sea_core.validation import MAX_TEXT_CHARS, MISSING, WRONG_TYPE, ValidationError, validate_text

TEXT_FIELD = "text"
ID_FIELD = "id"
#: The output columns, in order (the production record's fields after `id`).
OUTPUT_COLUMNS = ("id", "modelVersion", "timestamp", "requestId", "original_input", "skillExtractOutput")
_PARQUET_BATCH = 1000


def _columns(names: Sequence[str]) -> tuple[str | None, str | None]:
    """The names of the header's text and id columns (`match_columns`: any case or spacing),
    None for one it lacks."""
    found = match_columns(names, {TEXT_FIELD: (TEXT_FIELD,), ID_FIELD: (ID_FIELD,)})
    text, id_ = (names[found[f]] if f in found else None for f in (TEXT_FIELD, ID_FIELD))
    return text, id_


class BatchFormatError(ValueError):
    """A file that cannot be read or written as asked (unknown format, no `text` column)."""


class Format(StrEnum):
    """A bulk file format."""

    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


_EXTENSIONS = {
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".json": Format.JSONL,
    ".csv": Format.CSV,
    ".parquet": Format.PARQUET,
    ".pq": Format.PARQUET,
}


def detect_format(name: str, explicit: str | None = None) -> Format:
    """`explicit` when given, else the format of the file name's extension."""
    if explicit:
        try:
            return Format(explicit.lower())
        except ValueError:
            raise BatchFormatError(
                f"unknown format {explicit!r}: expected one of {', '.join(f.value for f in Format)}"
            ) from None
    suffix = Path(name.split("?", 1)[0]).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise BatchFormatError(
            f"{name}: cannot tell the format from {suffix or 'no extension'!r}; "
            f"use .jsonl, .csv or .parquet, or --format"
        )
    return _EXTENSIONS[suffix]


# -- reading ----------------------------------------------------------------------------------
def _id(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value)


def checked_row(row: int, id_: str | None, text: Any, raw: str, max_chars: int) -> InputRow:
    """The InputRow of a record's text: validated (`sea_core.validation.validate_text`), or
    rejected with the validation's kind as reason."""
    if text is None:
        return InputRow(row, id_, None, Reject(row, id_, MISSING, "text: is missing", raw))
    try:
        return InputRow(row, id_, validate_text(text, max_chars=max_chars))
    except ValidationError as exc:
        return InputRow(row, id_, None, Reject(row, id_, exc.kind, str(exc), raw))


def _json_row(row: int, line: str, max_chars: int) -> InputRow:
    try:
        value = json.loads(line)
    except ValueError as exc:
        return InputRow(row, None, None, Reject(row, None, BAD_JSON, f"not valid JSON: {exc}", line))
    if isinstance(value, str):
        return checked_row(row, None, value, line, max_chars)
    if not isinstance(value, dict):
        message = f'must be an object {{"text": ...}} or a string, got {type(value).__name__}'
        return InputRow(row, None, None, Reject(row, None, WRONG_TYPE, message, line))
    return checked_row(row, _id(value.get(ID_FIELD)), value.get(TEXT_FIELD), line, max_chars)


def _read_jsonl(path: Path, max_chars: int) -> Iterator[InputRow]:
    row = 0
    with path.open(encoding="utf-8-sig", errors="surrogateescape") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                yield InputRow(row, None, None, Reject(row, None, BAD_ROW, "line is not UTF-8", ""))
            else:
                yield _json_row(row, line.rstrip("\r\n"), max_chars)
            row += 1


def _read_csv(path: Path, max_chars: int) -> Iterator[InputRow]:
    """The CSV's rows (too long texts become rejects, not reader errors); BatchFormatError naming
    the line where a file that is not UTF-8 stops being so."""
    try:
        yield from _csv_rows(path, max_chars)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _not_utf8(path: Path) -> BatchFormatError:
    return BatchFormatError(f"{path}: is not UTF-8 text ({first_invalid_utf8(path)}); save it as 'CSV UTF-8'")


def _csv_rows(path: Path, max_chars: int) -> Iterator[InputRow]:
    with field_size_limit(sys.maxsize), path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        text_column, id_column = _columns(list(reader.fieldnames or ()))
        if text_column is None:
            raise BatchFormatError(f"{path}: no {TEXT_FIELD!r} column in the CSV header")
        for row, record in enumerate(reader):
            id_ = _id(record.get(id_column)) if id_column else None
            if None in record:  # more fields than the header names
                raw = ",".join(str(v) for v in record.values())
                yield InputRow(
                    row, id_, None, Reject(row, id_, BAD_ROW, "more fields than the CSV header", raw)
                )
                continue
            text = record.get(text_column)
            yield checked_row(row, id_, text, text or "", max_chars)


def _read_parquet(path: Path, max_chars: int) -> Iterator[InputRow]:
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    names = handle.schema_arrow.names
    text_column, id_column = _columns(names)
    if text_column is None:
        raise BatchFormatError(f"{path}: no {TEXT_FIELD!r} column in the Parquet schema")
    columns = [text_column] + ([id_column] if id_column else [])
    row = 0
    for batch in handle.iter_batches(batch_size=_PARQUET_BATCH, columns=columns):
        data = batch.to_pydict()
        ids = data[id_column] if id_column else [None] * batch.num_rows
        for text, id_ in zip(data[text_column], ids, strict=True):
            raw = text if isinstance(text, str) else repr(text)
            yield checked_row(row, _id(id_), text, raw, max_chars)
            row += 1


def read_rows(path: str | Path, fmt: Format, max_chars: int = MAX_TEXT_CHARS) -> Iterator[InputRow]:
    """Every record of a local input file, in order (see the module doc)."""
    path = Path(path)
    if not path.is_file():
        raise BatchFormatError(f"{path}: no such input file")
    readers = {Format.JSONL: _read_jsonl, Format.CSV: _read_csv, Format.PARQUET: _read_parquet}
    return readers[fmt](path, max_chars)


def count_rows(path: str | Path, fmt: Format) -> int:
    """How many records `read_rows` will yield (for the progress bar), read cheaply."""
    path = Path(path)
    if fmt is Format.PARQUET:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if fmt is Format.CSV:
        try:
            with field_size_limit(sys.maxsize), path.open(encoding="utf-8-sig", newline="") as handle:
                return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
        except UnicodeDecodeError:
            raise _not_utf8(path) from None
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


# -- writing ----------------------------------------------------------------------------------
def output_row(id_: str | None, record: dict[str, Any]) -> dict[str, Any]:
    """The output row of a record: `id` first, then the production record."""
    return {ID_FIELD: id_, **record}


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row for a table format: the skill list as JSON text, only OUTPUT_COLUMNS."""
    flat = {name: row.get(name) for name in OUTPUT_COLUMNS}
    flat["skillExtractOutput"] = json.dumps(row.get("skillExtractOutput", []), ensure_ascii=False)
    return flat


def write_rows(path: str | Path, fmt: Format, rows: Iterable[dict[str, Any]]) -> int:
    """Write output rows (`output_row`) to `path` in `fmt`; returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    if fmt is Format.JSONL:
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        return count
    if fmt is Format.CSV:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=OUTPUT_COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(_flat(row))
                count += 1
        return count
    return _write_parquet(path, rows)


def _write_parquet(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.string()) for name in OUTPUT_COLUMNS])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(_flat(row))
            if len(batch) >= _PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


def read_output(path: str | Path, fmt: Format) -> list[dict[str, Any]]:
    """The rows of an output file, the skill list decoded (tests, checks)."""
    path = Path(path)
    if fmt is Format.JSONL:
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    if fmt is Format.CSV:
        with path.open(encoding="utf-8", newline="") as handle:
            rows: list[dict[str, Any]] = [dict(r) for r in csv.DictReader(handle)]
        for row in rows:
            row["id"] = row["id"] or None
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    for row in rows:
        row["skillExtractOutput"] = json.loads(row["skillExtractOutput"])
    return rows


def write_rejects(path: str | Path, rejects: Iterable[Reject]) -> int:
    """Write rejects as JSON lines; returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for reject in rejects:
            handle.write(json.dumps(reject.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count
