"""Tables as downloadable files: CSV (UTF-8, header first) and Parquet (pyarrow)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """`rows` as CSV bytes with the header `columns` (missing values empty, extra keys dropped)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def to_parquet(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """`rows` as Parquet bytes with the columns `columns` (types inferred by pyarrow; a column
    of an empty table is a string column)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if rows:
        table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])
    else:
        table = pa.table({c: pa.array([], pa.string()) for c in columns})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class ExportFormat:
    """A file format a table downloads as: its name, file suffix, MIME type and encoder."""

    name: str
    suffix: str
    mime: str
    encode: Callable[[Sequence[dict[str, Any]], Sequence[str]], bytes]


FORMATS = (
    ExportFormat("CSV", "csv", "text/csv", to_csv),
    ExportFormat("Parquet", "parquet", "application/vnd.apache.parquet", to_parquet),
)
