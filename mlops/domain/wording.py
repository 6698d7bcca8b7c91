"""Words for counts in messages people read ("1 text", "2 texts")."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, the noun plural unless `n` is 1 (`plural`, or the noun + "s")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
