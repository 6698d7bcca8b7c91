"""Late interaction between a text and skill titles, the idea behind ConTeXT-match: each token
of a skill's title finds its best-matching token of the text (cosine of the encoder's own
contextual token embeddings), and the title scores the mean of those best matches (max-sim).

A whole-sentence vector blurs "develop models" and "machine learning models" into one point;
max-sim asks whether every word of the title has a counterpart in the text. Titles are encoded
on demand, once per skill, and kept (float16) for the process in a cache bounded to
`MAX_CACHED_SKILLS` skills (least recently used out); the text side comes from the same encoder
pass as the whole-text vector (`Encoder.encode_with_tokens`). Used as the re-ranker feature
`title_maxsim` (`sea_core.reranker`). Scoring every name of a skill (title and alternative
labels) instead was tried: it encodes ~7 times as many names per new candidate and ranked the
house split lower (`benchmarks/bench_late_interaction.py`).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

TokenEncode = Callable[[Sequence[str]], list[np.ndarray]]
_QUALIFIER = re.compile(r"\s*\([^()]*\)")
#: Skills whose title tokens stay cached: float16, 384 dimensions, 2.7 KB a skill measured
#: for ESCO (`benchmarks/bench_late_interaction.py`), so the whole bundled taxonomy fits in ~37 MB.
MAX_CACHED_SKILLS = 16384


def match_title(title: str) -> str:
    """The words of a title a text can mention: without parenthetical qualifiers ("Python
    (computer programming)" -> "Python"; a job ad never writes the qualifier, and its tokens
    would find no counterpart); the title itself when nothing else is left."""
    return _QUALIFIER.sub("", title).strip() or title


def maxsim(query_tokens: np.ndarray, document_tokens: np.ndarray) -> float:
    """Mean over the query's unit token rows of their best cosine with a document token row;
    0.0 when either side has no tokens."""
    if not len(query_tokens) or not len(document_tokens):
        return 0.0
    return float((query_tokens @ document_tokens.T).max(axis=1).mean())


class TokenMatcher:
    """Max-sim of skill titles (`titles[row]`) against texts, with `encode` giving each text's
    unit token embeddings (no special tokens). Titles are matched without their qualifiers
    (`match_title`); their tokens are cached per skill (float16, thread-safe, at most
    `max_skills` skills, the least recently used dropped first)."""

    def __init__(
        self, titles: Sequence[str], encode: TokenEncode, max_skills: int = MAX_CACHED_SKILLS
    ) -> None:
        if max_skills < 1:
            raise ValueError(f"max_skills must be at least 1, got {max_skills}")
        self.source_titles = list(titles)
        self.titles = [match_title(t) for t in self.source_titles]
        self._encode = encode
        self.max_skills = max_skills
        self._rows: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def cached_skills(self) -> int:
        """How many skills' title tokens are cached now."""
        with self._lock:
            return len(self._rows)

    @property
    def cached_bytes(self) -> int:
        """Memory the cached title tokens take."""
        with self._lock:
            return sum(t.nbytes for t in self._rows.values())

    def clear(self) -> None:
        """Drop every cached title's tokens."""
        with self._lock:
            self._rows.clear()

    def title_tokens(self, rows: Sequence[int]) -> list[np.ndarray]:
        """Token rows of each title of `rows` (the missing ones encoded in one call)."""
        with self._lock:
            found = {r: self._rows[r] for r in rows if r in self._rows}
            for r in found:
                self._rows.move_to_end(r)
        missing = [r for r in dict.fromkeys(rows) if r not in found]
        if missing:
            encoded = self._encode([self.titles[r] for r in missing])
            for r, tokens in zip(missing, encoded, strict=True):
                found[r] = np.asarray(tokens, dtype=np.float16)
            with self._lock:
                for r in missing:
                    self._rows[r] = found[r]
                while len(self._rows) > self.max_skills:
                    self._rows.popitem(last=False)
        return [found[r].astype(np.float32) for r in rows]

    def scores(
        self,
        text: str,
        rows: Sequence[int],
        text_tokens: np.ndarray | None = None,
        hidden: Callable[[str], bool] | None = None,
    ) -> np.ndarray:
        """(len(rows),) max-sim of each row's title against `text` (its token rows `text_tokens`
        when the caller has them from the text's own encoding). A title (as the taxonomy writes
        it) for which `hidden` is true scores 0: self-supervised training hides the name a text
        was taken from."""
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        if text_tokens is None:
            (text_tokens,) = self._encode([text])
        document = np.asarray(text_tokens, dtype=np.float32)
        return np.asarray(
            [
                0.0 if hidden is not None and hidden(self.source_titles[r]) else maxsim(t, document)
                for r, t in zip(rows, self.title_tokens(rows), strict=True)
            ],
            dtype=np.float32,
        )
