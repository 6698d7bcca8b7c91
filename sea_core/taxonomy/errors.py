"""Errors raised while reading a taxonomy file."""

from __future__ import annotations


class TaxonomyError(ValueError):
    """A taxonomy file could not be loaded; names the file and, where known, sheet, row and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.sheet, self.row, self.column = file, sheet, row, column
        self.reason = message
        where = [
            part
            for part in (
                file and f"file {file}",
                sheet and f"sheet {sheet!r}",
                row is not None and f"row {row}",
                column and f"column {column!r}",
            )
            if part
        ]
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
