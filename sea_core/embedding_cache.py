"""A bounded LRU cache of phrase embeddings, keyed by (encoder key, phrase), so one cache can
serve several encoders without ever handing one encoder's vector to another. Job ads repeat
their phrases heavily ("communication skills", "SQL"): a phrase seen before costs no encoding."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_MAX_ENTRIES = 20_000  # 384-dim float32 rows: about 30 MiB when full


@dataclass(frozen=True)
class CacheStats:
    """Counters of an EmbeddingCache."""

    hits: int
    misses: int
    entries: int
    max_entries: int

    @property
    def hit_rate(self) -> float:
        """Hits over look-ups (0 before any look-up)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class EmbeddingCache:
    """Least-recently-used map (encoder key, text) -> unit vector, at most `max_entries` rows
    (0 disables caching); safe to share between threads."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 0:
            raise ValueError(f"max_entries must be >= 0, got {max_entries}")
        self.max_entries = max_entries
        self._rows: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def __len__(self) -> int:
        return len(self._rows)

    def stats(self) -> CacheStats:
        """Hits, misses and size so far."""
        return CacheStats(self._hits, self._misses, len(self._rows), self.max_entries)

    def clear(self) -> None:
        """Forget every row and reset the counters."""
        with self._lock:
            self._rows.clear()
            self._hits = self._misses = 0

    def embed(self, key: str, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Rows for `texts` in order: cached ones reused, the others (each distinct text once)
        computed with `encode` in one call and remembered under `key`."""
        if len(texts) == 0:
            return encode([])
        distinct = list(dict.fromkeys(texts))
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in distinct:
                row = self._rows.get((key, text))
                if row is not None:
                    self._rows.move_to_end((key, text))
                    found[text] = row
            self._hits += len(found)
            self._misses += len(distinct) - len(found)
        missing = [t for t in distinct if t not in found]
        if missing:
            vectors = encode(missing)
            found.update(zip(missing, vectors, strict=True))
            self._remember(key, missing, vectors)
        return np.asarray([found[t] for t in texts], dtype=np.float32)

    def _remember(self, key: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        if self.max_entries == 0:
            return
        with self._lock:
            for text, row in zip(texts, vectors, strict=True):
                self._rows[(key, text)] = row.copy()
                self._rows.move_to_end((key, text))
            while len(self._rows) > self.max_entries:
                self._rows.popitem(last=False)
