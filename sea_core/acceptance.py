"""A learned acceptance model for the output set: how likely a reviewer confirms each suggestion,
and the cut that maximises the text's expected Jaccard.

Each suggestion of a prepared ranking (after folding, best first) is described by
`ACCEPT_FEATURES`, cheap numbers the ranking already holds: its confidence, how far below the
best of its sentence and above the next suggestion it sits, the phrase and whole-text
similarities, its support, its place among the suggestions of the same phrase, the phrase's
length, the near-duplicates folded into it, its position, and whether the rule's threshold cut
keeps it. A text of several sentences is described sentence by sentence (`sentence_groups`:
position and the next suggestion count within the sentence, and each sentence contributes its
first `ACCEPT_DEPTH`), since reviewed texts are often a sentence or two: described as one run, a
283-word posting got 7 suggestions instead of the shipped rule's 16, recall 0.25 against 0.33.

A logistic model over the features (`fit_acceptance`, numpy Newton steps with an L2 penalty)
gives each suggestion a probability p of being confirmed. The cut (`AcceptanceModel.choose`)
takes, for k = 1, 2, ..., the k most probable suggestions and keeps the k with the highest
plug-in expected Jaccard S_k / (k + E - S_k), where S_k is the sum of their p and E = the sum of
all p (the expected number of confirmed skills among the suggestions): no threshold is fitted,
so a text with one clear skill gets one and a text with six likely ones gets six. A text always
gets its most probable suggestion: the empty cut would be judged by the chance that nothing is
confirmed, which the suggestions alone overstate (a text's confirmed skills are not all among
them; on the dev benchmark allowing it cost 0.04 Jaccard).

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

from .logistic import newton_logistic

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
#: Suggestions a cut considers per sentence of the text (`considered`).
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
        """Positions (ascending) of the suggestions kept: the most probable k <= `cap` of those
        `considered` with the highest expected Jaccard (module docstring); `rule_keeps`: the
        positions the rule's threshold cut keeps (a feature)."""
        positions, features = suggestion_features(ranking, ACCEPT_DEPTH, rule_keeps)
        if cap <= 0 or not len(features):
            return []
        p = self.probabilities(features)
        order = np.argsort(-p, kind="stable")
        expected = float(p.sum())
        sums = np.cumsum(p[order])[:cap]
        k = np.arange(1, len(sums) + 1)
        value = sums / (k + expected - sums)
        return sorted(positions[i] for i in order[: int(np.argmax(value)) + 1])

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


def sentence_groups(ranking: PreparedRanking) -> tuple[int, ...]:
    """Each suggestion's sentence, the unit its features count in: in a text of one sentence
    all suggestions (the whole text is that sentence); in a longer one the sentence of its
    phrase, the whole-text candidates a group of their own."""
    if ranking.sentences > 1 and len(ranking.groups) == len(ranking.suggestions):
        return ranking.groups
    return (0,) * len(ranking.suggestions)


def considered(ranking: PreparedRanking, depth: int = ACCEPT_DEPTH) -> list[int]:
    """Positions (ascending) of the suggestions a cut considers: the first `depth` of each
    sentence (`sentence_groups`), so a long text is judged sentence by sentence, as the model
    was fitted on reviewed texts of a sentence or a few."""
    groups = sentence_groups(ranking)
    taken: dict[int, int] = {}
    out = []
    for position, group in enumerate(groups):
        if taken.get(group, 0) < depth:
            taken[group] = taken.get(group, 0) + 1
            out.append(position)
    return out


def suggestion_features(
    ranking: PreparedRanking, depth: int = ACCEPT_DEPTH, rule_keeps: Collection[int] = ()
) -> tuple[list[int], np.ndarray]:
    """The considered positions (`considered`) and their (positions, len(ACCEPT_FEATURES))
    features; position and the gap to the next suggestion count within the suggestion's
    sentence; `rule_keeps` are the positions the threshold rule keeps."""
    positions = considered(ranking, depth)
    groups = sentence_groups(ranking)
    keeps = set(rule_keeps)
    following: dict[int, float] = {}  # position -> confidence of the next one of its sentence
    last: dict[int, float] = {}
    for position in reversed(positions):
        following[position] = last.get(groups[position], 0.0)
        last[groups[position]] = ranking.suggestions[position].candidate.confidence
    rows = []
    in_group: dict[int, int] = {}
    seen: dict[tuple[int, int], int] = {}
    for position in positions:
        suggestion, reference = ranking.suggestions[position], ranking.references[position]
        cand = suggestion.candidate
        phrase = (cand.phrase_start, cand.phrase_end)
        in_phrase = seen.get(phrase, 0)
        seen[phrase] = in_phrase + 1
        rank = in_group.get(groups[position], 0)
        in_group[groups[position]] = rank + 1
        has_span = cand.phrase_start >= 0
        rows.append(
            (
                cand.confidence,
                cand.confidence - reference,
                cand.confidence - following[position],
                cand.span_similarity,
                cand.text_similarity,
                float(has_span),
                math.log1p(cand.occurrence),
                math.log1p(len(cand.supporting)),
                1.0 / (1 + in_phrase),
                math.log1p(len(cand.phrase.split())) if has_span else 0.0,
                float(len(suggestion.alternatives)),
                min(rank, _POSITION_SCALE) / _POSITION_SCALE,
                float(position in keeps),
            )
        )
    return positions, np.array(rows, dtype=np.float64).reshape(len(rows), len(ACCEPT_FEATURES))


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
    theta = newton_logistic(z, y, penalty, np.zeros(z.shape[1]), iterations, tolerance=1e-9, jitter=1e-9)
    weights = theta[1:] / scale
    bias = theta[0] - float(weights @ mean)
    return AcceptanceModel(ACCEPT_FEATURES, tuple(round(float(w), 8) for w in weights), round(float(bias), 8))
