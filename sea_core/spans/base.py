"""The span extraction interface: find skill phrases in a text, with character offsets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A phrase of the input: `text == original[start:end]`; `label` says which model found it."""

    text: str
    start: int
    end: int
    label: str = "skill"
    score: float = 1.0


def chunk_bounds(length: int, chunk_size: int, overlap: int = 0) -> Iterator[tuple[int, int]]:
    """Half-open [start, end) windows of `chunk_size` covering 0..length, each overlapping the
    previous by `overlap` so that no span is lost at a border. Length 4, size 3 -> (0,3),(3,4)."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if not 0 <= overlap < chunk_size:
        raise ValueError(f"overlap must be in [0, chunk_size), got {overlap}")
    start = 0
    while start < length:
        end = min(start + chunk_size, length)
        yield start, end
        if end == length:
            break
        start = end - overlap


def merge_spans(spans: list[Span]) -> list[Span]:
    """Sort spans by position and drop exact duplicates (same offsets and label), e.g. from
    overlapping chunks."""
    seen: set[tuple[int, int, str]] = set()
    out = []
    for span in sorted(spans, key=lambda s: (s.start, s.end, s.label)):
        key = (span.start, span.end, span.label)
        if key not in seen:
            seen.add(key)
            out.append(span)
    return out


class SpanExtractor(ABC):
    """Finds skill and knowledge phrases in a text. Long inputs are processed in chunks."""

    name: str = "spans"

    @abstractmethod
    def extract(self, text: str) -> list[Span]:
        """All phrases found in `text`, sorted by start offset, offsets into `text`."""
