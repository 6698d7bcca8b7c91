"""Learning `RerankSettings`: a pairwise logistic ranker (numpy Newton steps) on groups of
candidate features with relevance labels, and the self-supervised groups the taxonomy itself
gives (an alternative label or a description sentence as the text, its skill as the answer).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .logistic import newton_logistic
from .matching import RerankSettings
from .reranker import FEATURES, LABEL_FEATURES
from .taxonomy import Taxonomy

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Group:
    """One text's candidate features (best first) and which candidates are relevant."""

    features: np.ndarray  # (candidates, len(FEATURES))
    relevant: np.ndarray  # (candidates,) bool


def fit_pairwise(
    groups: Sequence[Group],
    depth: int,
    l2: float = 1e-3,
    features: Sequence[str] = FEATURES,
    iterations: int = 25,
) -> RerankSettings:
    """Settings that order each group's relevant candidates above the others (within the first
    `depth`), using only `features` (others get weight 0); `l2` shrinks the standardised
    weights (the mean pair loss is minimised)."""
    used = np.array([f in features and f != "confidence" for f in FEATURES])  # + confidence
    conf = FEATURES.index("confidence")
    diffs = []
    for g in groups:
        x, rel = g.features[:depth], g.relevant[:depth]
        if rel.any() and not rel.all():
            diffs.append((x[rel][:, None, :] - x[~rel][None, :, :]).reshape(-1, x.shape[1]))
    if not diffs:
        return RerankSettings(FEATURES, tuple(1.0 if f == "confidence" else 0.0 for f in FEATURES), depth)
    pairs = np.concatenate(diffs).astype(np.float64)
    columns = np.concatenate([[conf], np.flatnonzero(used)])
    x = pairs[:, columns]
    scale = x.std(axis=0) + 1e-6
    z = x / scale
    penalty = np.full(len(columns), l2)
    penalty[0] = 1e-6  # the confidence's weight is barely shrunk: it starts as the ranking
    start = np.zeros(len(columns))
    start[0] = 1.0
    # every pair's "relevant minus other" difference should score above 0: all labels 1
    theta = newton_logistic(z, np.ones(len(z)), penalty, start, iterations, tolerance=1e-8)
    weights = np.zeros(len(FEATURES))
    weights[columns] = theta / scale
    return RerankSettings(FEATURES, tuple(round(float(w), 6) for w in weights), depth)


def without_label_features() -> tuple[str, ...]:
    """`FEATURES` less those needing the names' vectors."""
    return tuple(f for f in FEATURES if f not in LABEL_FEATURES)


@dataclass(frozen=True)
class TaxonomyQuery:
    """A self-supervised example: `text` should find skill `row`; `hidden_name` is the label the
    text was taken from (hidden from the features), empty for description sentences."""

    text: str
    row: int
    hidden_name: str = ""


def taxonomy_queries(
    taxonomy: Taxonomy, names: Sequence[Sequence[str]], per_kind: int, seed: int = 0
) -> list[TaxonomyQuery]:
    """`per_kind` alternative labels and `per_kind` description sentences of random skills."""
    rng = random.Random(seed)
    with_labels = [r for r, n in enumerate(names) if len(n) > 1]
    with_text = [r for r, s in enumerate(taxonomy) if s.description.strip()]
    out = []
    for row in rng.sample(with_labels, min(per_kind, len(with_labels))):
        label = rng.choice(list(names[row][1:]))
        out.append(TaxonomyQuery(label, row, label))
    for row in rng.sample(with_text, min(per_kind, len(with_text))):
        sentences = [s for s in _SENTENCE.split(taxonomy[row].description.strip()) if s]
        out.append(TaxonomyQuery(rng.choice(sentences), row))
    return out
