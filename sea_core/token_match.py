"""Late interaction between a text and skill titles, the idea behind ConTeXT-match: each token
of a skill's title finds its best-matching token of the text (cosine of the encoder's own
contextual token embeddings), and the title scores the mean of those best matches (max-sim).

A whole-sentence vector blurs "develop models" and "machine learning models" into one point;
max-sim asks whether every word of the title has a counterpart in the text. The title side is
encoded on demand, once per skill, and kept (float16) for the process; the text side comes
from the same encoder pass as the whole-text vector (`Encoder.encode_with_tokens`). Used as the
re-ranker feature `title_maxsim` (`sea_core.reranker`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

import numpy as np

TokenEncode = Callable[[Sequence[str]], list[np.ndarray]]
_QUALIFIER = re.compile(r"\s*\([^()]*\)")


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
    unit token embeddings (no special tokens). Title tokens are cached per row (thread-safe)."""

    def __init__(self, titles: Sequence[str], encode: TokenEncode) -> None:
        self.titles = list(titles)
        self._encode = encode
        self._rows: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def title_tokens(self, rows: Sequence[int]) -> list[np.ndarray]:
        """Token rows of each title of `rows` (encoded once, in one call for the new ones)."""
        with self._lock:
            missing = list(dict.fromkeys(r for r in rows if r not in self._rows))
        if missing:
            encoded = self._encode([self.titles[r] for r in missing])
            with self._lock:
                for row, tokens in zip(missing, encoded, strict=True):
                    self._rows[row] = np.asarray(tokens, dtype=np.float16)
        with self._lock:
            return [self._rows[r].astype(np.float32) for r in rows]

    def scores(self, text: str, rows: Sequence[int], text_tokens: np.ndarray | None = None) -> np.ndarray:
        """(len(rows),) max-sim of each row's title against `text` (its token rows
        `text_tokens` when the caller has them from the text's own encoding)."""
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        if text_tokens is None:
            (text_tokens,) = self._encode([text])
        text_tokens = np.asarray(text_tokens, dtype=np.float32)
        return np.asarray([maxsim(t, text_tokens) for t in self.title_tokens(rows)], dtype=np.float32)
