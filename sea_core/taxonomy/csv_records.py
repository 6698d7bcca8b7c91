"""Strict CSV parsing for the taxonomy loaders: every record with the line it starts on, and
errors that name the file, row, line and (for an over-long field) the column.

Parsed with `csv.reader(strict=True)`, so a quote that is never closed ("unexpected end of
data") or text after a closing quote is an error at the record where the quote opened, instead
of the rest of the file silently becoming one field. A field over csv's field size limit
(131,072 characters by default) is reported with its column. `single_line` checks that a field
which is one line by nature (a title) did not swallow line breaks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import TaxonomyError

#: The longest field a taxonomy CSV may hold (the csv module's default limit), whatever another
#: part of the process set `csv.field_size_limit` to.
MAX_FIELD_CHARS = 131_072


@contextmanager
def field_size_limit(limit: int) -> Iterator[None]:
    """`csv.field_size_limit(limit)` inside the block, the previous limit after it (the limit is
    process-wide)."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


@dataclass(frozen=True)
class CsvRecord:
    """One CSV record: its values, its number among the records (the header is 1) and the
    line of the file it starts on (they differ once a quoted field spans lines)."""

    values: list[str]
    row: int
    line: int


class _Lines:
    """The text's lines, counting how many the csv reader has taken."""

    def __init__(self, text: str) -> None:
        self.lines = list(io.StringIO(text))  # split at "\n" only, as csv expects
        self.taken = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.taken += 1
            yield line


def _split_fields(text: str) -> list[str]:
    """A record's fields (quotes doubled inside quoted fields), tolerant of a cut-off end."""
    fields, current, quoted, i = [], [], False, 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == '"' and text[i + 1 : i + 2] == '"':
                current.append('"')
                i += 1
            elif char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"' and not current:
            quoted = True
        elif char == ",":
            fields.append("".join(current))
            current = []
        elif char in "\r\n":
            break
        else:
            current.append(char)
        i += 1
    fields.append("".join(current))
    return fields


def _column_name(header: Sequence[str], index: int) -> str:
    return header[index].strip() if index < len(header) and header[index].strip() else f"#{index + 1}"


def read_records(text: str, file: str) -> list[CsvRecord]:
    """Every record of a CSV text (blank lines included, as empty records). TaxonomyError naming
    the row and line for malformed CSV (e.g. an unbalanced quote), and the column too for a field
    over `MAX_FIELD_CHARS`."""
    with field_size_limit(MAX_FIELD_CHARS):
        return _read_records(text, file)


def _read_records(text: str, file: str) -> list[CsvRecord]:
    source = _Lines(text)
    reader = csv.reader(source, strict=True)
    records: list[CsvRecord] = []
    while True:
        start = source.taken + 1
        try:
            values = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            row = len(records) + 1
            limit = csv.field_size_limit()
            if "field limit" in str(exc):
                fields = _split_fields("".join(source.lines[start - 1 : source.taken]))
                index = next((i for i, f in enumerate(fields) if len(f) > limit), len(fields) - 1)
                header = records[0].values if records else []
                raise TaxonomyError(
                    f"a field is longer than {limit:,} characters, the CSV field size limit "
                    f"(record starting on line {start})",
                    file=file,
                    row=row,
                    column=_column_name(header, index),
                ) from None
            raise TaxonomyError(
                f"malformed CSV ({exc}) in the record starting on line {start}: "
                "is a quote there never closed?",
                file=file,
                row=row,
            ) from None
        records.append(CsvRecord(values, len(records) + 1, start))


def single_line(value: str, file: str, row: int, column: str, line: int) -> str:
    """`value` when it holds no line break; else TaxonomyError naming row and column (a field
    that swallowed lines: most likely an unbalanced quote on `line`)."""
    if "\n" in value or "\r" in value:
        lines = value.count("\n") + 1
        raise TaxonomyError(
            f"the value spans {lines} lines from line {line}: a quote there was probably "
            "never closed, so the following rows became part of it",
            file=file,
            row=row,
            column=column,
        )
    return value
