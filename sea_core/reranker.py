"""A linear re-ranker over a text's best candidates.

The matcher's candidates (best first) are described by cheap features (`FEATURES`): the
matcher's own scores, the candidate's rank and support, whether a phrase names the skill
exactly, the best cosine of any phrase with any one of the skill's names (`LabelVectors`),
BM25 and word overlap of the phrase and the text with the skill's names, and the late-interaction
max-sim of the skill's title against the text's tokens (`token_match`). A `RerankSettings`
(weights per feature: the default late-interaction ones of `matching.late_interaction_reranker`,
or learned by `reranker_fit`) re-orders the first `depth` candidates by
`sum(w_f * feature_f)`; the confidences stay where they were: the i-th candidate after re-ranking
takes the i-th best confidence before, so the output-set thresholds (tuned on the matcher's
confidences) keep their meaning and a text gets as many suggestions as before. Candidates past
`depth` are untouched.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .labels import ExactNames, LabelVectors, exact_names, name_key, skill_names
from .lexical import BM25
from .matching import FEATURES, Candidate, RerankSettings
from .spans import Span
from .taxonomy import Taxonomy
from .token_match import TokenMatcher

#: Features that need the names' vectors (`LabelVectors`).
LABEL_FEATURES = frozenset({"label_max", "label_max_text", "title_max"})
#: Features that need token embeddings (`TokenMatcher`).
TOKEN_FEATURES = frozenset({"title_maxsim"})


@dataclass(frozen=True)
class RerankContext:
    """What the features need from the taxonomy besides its skill vectors."""

    names: list[list[str]]
    exact: ExactNames
    bm25: BM25
    label_vectors: LabelVectors | None = None
    tokens: TokenMatcher | None = None


_CACHE: dict[str, RerankContext] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4


def taxonomy_context(taxonomy: Taxonomy) -> RerankContext:
    """The names, exact-name index and BM25 of a taxonomy (no label vectors), kept per taxonomy
    checksum for the process (a few at most; about a second to build for ESCO)."""
    key = taxonomy.checksum
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    names = skill_names(taxonomy)
    context = RerankContext(names, exact_names(taxonomy), BM25.build(names))
    with _CACHE_LOCK:
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = context
    return context


def candidate_features(
    context: RerankContext,
    text: str,
    spans: Sequence[Span],
    span_vectors: np.ndarray,
    text_vector: np.ndarray,
    candidates: Sequence[Candidate],
    hidden_name: str | None = None,
    text_tokens: np.ndarray | None = None,
) -> np.ndarray:
    """(len(candidates), len(FEATURES)) features of `candidates` (best first). `hidden_name`
    (self-supervised training only) is treated as no skill's name: the query that *is* a name
    must not find it by its own label. `text_tokens`: the text's token rows, when encoded with
    it (else `title_maxsim` encodes the text once more)."""
    rows = [c.row for c in candidates]
    out = np.zeros((len(rows), len(FEATURES)), np.float32)
    if not rows:
        return out
    hidden = name_key(hidden_name) if hidden_name else None
    exact: set[int] = set()
    for span in spans:
        if hidden is None or name_key(span.text) != hidden:
            exact.update(context.exact.rows(span.text))
    text_words = name_key(text)
    labels = context.label_vectors
    for i, cand in enumerate(candidates):
        names = context.names[cand.row]
        title = name_key(names[0])
        phrase = name_key(cand.phrase) if cand.supporting else frozenset()
        document = context.bm25.documents[cand.row]
        out[i, :8] = (
            cand.confidence,
            cand.span_similarity if cand.supporting else 0.0,
            cand.text_similarity,
            1.0 if cand.supporting else 0.0,
            1.0 / (1 + i),
            math.log(max(cand.occurrence, 1)),
            math.log1p(len(cand.supporting)),
            1.0 if cand.row in exact else 0.0,
        )
        out[i, 11] = math.log(len(names))
        out[i, 14] = len(phrase & title) / len(title) if title else 0.0
        out[i, 15] = len(text_words & title) / len(title) if title else 0.0
        out[i, 16] = len([w for w in phrase if w in document]) / len(phrase) if phrase else 0.0
    out[:, 12] = context.bm25.pair_scores([c.phrase if c.supporting else "" for c in candidates], rows)
    out[:, 13] = context.bm25.scores(text, rows)
    if context.tokens is not None:
        hidden_token = (lambda n: name_key(n) == hidden) if hidden is not None else None
        out[:, 17] = context.tokens.scores(text, rows, text_tokens, hidden_token)
    if labels is not None:
        queries = np.vstack([span_vectors, text_vector[None, :]]) if len(spans) else text_vector[None, :]
        for i, row in enumerate(rows):
            start, count = int(labels.starts[row]), int(labels.counts[row])
            block = labels.vectors[start : start + count].astype(np.float32)
            if hidden is not None:
                keep = [j for j, n in enumerate(context.names[row]) if name_key(n) != hidden]
                block = block[keep]
            if not len(block):
                continue
            sims = queries @ block.T
            out[i, 8] = sims[:-1].max() if len(spans) else 0.0
            out[i, 9] = sims[-1].max()
            out[i, 10] = sims[:-1, 0].max() if len(spans) and (hidden is None or 0 in keep) else 0.0
    return out


def needs_label_vectors(settings: RerankSettings) -> bool:
    """Whether the settings give weight to a feature of `LABEL_FEATURES`."""
    return any(w and f in LABEL_FEATURES for f, w in zip(settings.features, settings.weights))


def needs_tokens(settings: RerankSettings) -> bool:
    """Whether the settings give weight to a feature of `TOKEN_FEATURES`."""
    return any(w and f in TOKEN_FEATURES for f, w in zip(settings.features, settings.weights))


def rescore(
    settings: RerankSettings, candidates: Sequence[Candidate], features: np.ndarray
) -> list[Candidate]:
    """`candidates` (best first) with the first `settings.depth` re-ordered by their score and
    given the confidences of the old order (module docstring); `features` are those of the first
    `depth` (`candidate_features` column order)."""
    if settings.features != FEATURES[: len(settings.features)] or len(settings.weights) != len(
        settings.features
    ):
        raise ValueError(f"re-ranker features {settings.features} do not match {FEATURES}")
    head = list(candidates[: settings.depth])
    weights = np.zeros(len(FEATURES), np.float64)
    weights[: len(settings.weights)] = settings.weights
    scores = features[: len(head)].astype(np.float64) @ weights
    order = sorted(range(len(head)), key=lambda i: (-scores[i], i))
    reordered = [replace(head[i], confidence=head[position].confidence) for position, i in enumerate(order)]
    return reordered + list(candidates[settings.depth :])
