"""A learned acceptance model for the output set: how likely a reviewer confirms each suggestion,
and the cut that maximises the text's expected Jaccard.

Each suggestion of a prepared ranking (after folding, best first) is described by
`ACCEPT_FEATURES`, cheap numbers the ranking already holds: its confidence, how far below the
best of its sentence and above the next suggestion it sits, the phrase and whole-text
similarities, its support, its place among the suggestions of the same phrase, the phrase's
length, the near-duplicates folded into it and its position. A logistic model over them
(`fit_acceptance`, numpy Newton steps with an L2 penalty) gives each suggestion a probability p
of being confirmed. The cut (`AcceptanceModel.choose`) takes, for k = 1, 2, ..., the k most
probable suggestions and keeps the k with the highest plug-in expected Jaccard
S_k / (k + E - S_k), where S_k is the sum of their p and E = the sum of all p (the expected
number of confirmed skills among the suggestions): no threshold is fitted, so a text with one
clear skill gets one and a text with six likely ones gets six. A text always gets its most
probable suggestion: the empty cut would be judged by the chance that nothing is confirmed,
which the suggestions alone overstate (a text's confirmed skills are not all among them; on the
dev benchmark allowing it cost 0.04 Jaccard).

The model is fitted on reviewed texts by `sea_core.calibration` (which keeps it only when it
beats the shipped rule under inner cross-validation) and stored in the `OutputRule`
(`OutputRule.acceptance`), so it is served from the bundle's pipeline.json.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # output_set imports this module
    from .output_set import PreparedRanking

#: The features, in the order of `suggestion_features`' columns (a stored model names them).
ACCEPT_FEATURES = (
    "confidence",
    "below_sentence_best",
    "above_next",
    "span_similarity",
    "text_similarity",
    "has_span",
    "log_occurrence",
    "log_support",
    "inverse_rank_in_phrase",
    "log_phrase_words",
    "alternatives",
    "position",
    "rule_keeps",
)
#: Suggestions a text's cut considers at least (more when its cap is larger).
ACCEPT_DEPTH = 20
#: L2 penalty on the standardised weights (the mean log-loss is minimised).
ACCEPT_L2 = 1e-2
_POSITION_SCALE = 10


@dataclass(frozen=True)
class AcceptanceModel:
    """p(confirmed) = sigmoid(bias + sum(weights[i] * feature i of `features`))."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def __post_init__(self) -> None:
        if len(self.features) != len(self.weights):
            raise ValueError(f"{len(self.features)} features but {len(self.weights)} weights")
        unknown = sorted(set(self.features) - set(ACCEPT_FEATURES))
        if unknown:
            raise ValueError(f"unknown acceptance feature(s) {unknown}; known: {list(ACCEPT_FEATURES)}")
        if not all(math.isfinite(w) for w in (*self.weights, self.bias)):
            raise ValueError("acceptance weights must be finite numbers")

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """p for each row of `features` (columns as `ACCEPT_FEATURES`)."""
        columns = [ACCEPT_FEATURES.index(f) for f in self.features]
        logits = features[:, columns] @ np.asarray(self.weights) + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50))))

    def choose(self, ranking: PreparedRanking, cap: int, rule_keeps: Collection[int] = ()) -> list[int]:
        """Positions (ascending) of the suggestions kept: the most probable k <= `cap` of the
        first max(`ACCEPT_DEPTH`, `cap`) with the highest expected Jaccard (module docstring);
        `rule_keeps`: the positions the rule's threshold cut keeps (a feature)."""
        depth = max(ACCEPT_DEPTH, cap)
        features = suggestion_features(ranking, depth, rule_keeps)
        if cap <= 0 or not len(features):
            return []
        p = self.probabilities(features)
        order = np.argsort(-p, kind="stable")
        expected = float(p.sum())
        sums = np.cumsum(p[order])[:cap]
        k = np.arange(1, len(sums) + 1)
        value = sums / (k + expected - sums)
        return sorted(order[: int(np.argmax(value)) + 1].tolist())

    def describe(self) -> str:
        """The model in words: its size and three largest weights."""
        weights = sorted(zip(self.features, self.weights), key=lambda fw: -abs(fw[1]))
        top = ", ".join(f"{f} {w:+.2f}" for f, w in weights[:3])
        return f"acceptance model of {len(weights)} features (largest weights: {top})"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (inside the output rule's)."""
        return {"features": list(self.features), "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AcceptanceModel:
        """Inverse of `to_dict`; ValueError for a malformed record."""
        try:
            return cls(
                tuple(str(f) for f in data["features"]),
                tuple(float(w) for w in data["weights"]),
                float(data["bias"]),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"malformed acceptance model {dict(data)!r}: {error}") from error


def suggestion_features(
    ranking: PreparedRanking, depth: int = ACCEPT_DEPTH, rule_keeps: Collection[int] = ()
) -> np.ndarray:
    """(min(depth, suggestions), len(ACCEPT_FEATURES)) features of the first `depth` suggestions;
    `rule_keeps` are the positions the threshold rule keeps."""
    suggestions = ranking.suggestions[:depth]
    keeps = set(rule_keeps)
    rows = []
    seen: dict[tuple[int, int], int] = {}
    for position, (suggestion, reference) in enumerate(zip(suggestions, ranking.references)):
        cand = suggestion.candidate
        phrase = (cand.phrase_start, cand.phrase_end)
        in_phrase = seen.get(phrase, 0)
        seen[phrase] = in_phrase + 1
        has_span = cand.phrase_start >= 0
        following = (
            ranking.suggestions[position + 1].candidate.confidence
            if position + 1 < len(ranking.suggestions)
            else 0.0
        )
        rows.append(
            (
                cand.confidence,
                cand.confidence - reference,
                cand.confidence - following,
                cand.span_similarity,
                cand.text_similarity,
                float(has_span),
                math.log1p(cand.occurrence),
                math.log1p(len(cand.supporting)),
                1.0 / (1 + in_phrase),
                math.log1p(len(cand.phrase.split())) if has_span else 0.0,
                float(len(suggestion.alternatives)),
                min(position, _POSITION_SCALE) / _POSITION_SCALE,
                float(position in keeps),
            )
        )
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(ACCEPT_FEATURES))


def fit_acceptance(
    features: Sequence[np.ndarray],
    confirmed: Sequence[np.ndarray],
    l2: float = ACCEPT_L2,
    iterations: int = 50,
) -> AcceptanceModel | None:
    """The logistic model of `confirmed` (one bool per feature row, per text) on `features`
    (`suggestion_features` per text); None when the labels are all one class (nothing to learn)."""
    rows = [f for f in features if len(f)]
    if not rows:
        return None
    x = np.concatenate(rows)
    y = np.concatenate([np.asarray(c, dtype=np.float64) for c, f in zip(confirmed, features) if len(f)])
    if len(y) != len(x):
        raise ValueError(f"{len(x)} feature rows but {len(y)} labels")
    if y.min() == y.max():
        return None
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0  # a constant column gets weight 0 through the penalty
    z = np.c_[np.ones(len(x)), (x - mean) / scale]
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0
    theta = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ theta, -50, 50)))
        grad = z.T @ (p - y) / len(y) + penalty * theta
        hess = (z * (p * (1 - p))[:, None]).T @ z / len(y) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-9:
            break
    weights = theta[1:] / scale
    bias = theta[0] - float(weights @ mean)
    return AcceptanceModel(ACCEPT_FEATURES, tuple(round(float(w), 8) for w in weights), round(float(bias), 8))
