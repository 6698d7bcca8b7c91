"""BM25 over each skill's names (title and alternative labels as one document), scored only for
the few skills a re-ranker looks at: exact tool names ("SQL", "Kafka") are where dense
similarity is weakest and word overlap strongest."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .labels import name_key


@dataclass(frozen=True)
class BM25:
    """Okapi BM25 (k1, b) with one document per skill: the words of all its names."""

    documents: tuple[Counter, ...]
    lengths: tuple[int, ...]
    idf: dict[str, float]
    average_length: float
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, names: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> BM25:
        """The index of `labels.skill_names` output (row r owns names[r])."""
        documents = tuple(Counter(w for name in skill for w in name_key(name)) for skill in names)
        lengths = tuple(sum(d.values()) for d in documents)
        frequency: Counter = Counter(w for d in documents for w in d)
        n = len(documents)
        idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in frequency.items()}
        average = sum(lengths) / n if n else 0.0
        return cls(documents, lengths, idf, average, k1, b)

    def scores(self, query: str, rows: Sequence[int]) -> list[float]:
        """BM25 of `query` against the documents of `rows`, in order."""
        return self.pair_scores([query] * len(rows), rows)

    def pair_scores(self, queries: Sequence[str], rows: Sequence[int]) -> list[float]:
        """BM25 of each `queries[i]` against the document of `rows[i]`."""
        keys: dict[str, frozenset[str]] = {}
        out = []
        for query, row in zip(queries, rows):
            words = keys.setdefault(query, name_key(query))
            doc, norm = (
                self.documents[row],
                1 - self.b + self.b * self.lengths[row] / (self.average_length or 1.0),
            )
            total = 0.0
            for word in words:
                tf = doc.get(word, 0)
                if tf:
                    total += self.idf[word] * tf * (self.k1 + 1) / (tf + self.k1 * norm)
            out.append(total)
        return out
