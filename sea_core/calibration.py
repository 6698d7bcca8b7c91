"""Calibration of the output set: fit an `OutputRule` on reviewed texts so that the mean Jaccard
(`sea_core.quality`) of its output against the confirmed sets is highest.

The search is an exhaustive grid (`RuleGrid`) walked in a fixed order; a rule replaces the best
so far only when it scores strictly higher, and the search starts from the shipped rule, so the
result is deterministic and never scores below the shipped rule on the examples it was fitted on.
Too little data falls back to the shipped rule and says why (`Calibration.reason`):
fewer than `MIN_EXAMPLES` reviewed texts, or no confirmed skill at all (every suggestion
rejected: fitting would learn to suggest nothing).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .matching import Candidate
from .output_set import SHIPPED_RULE, OutputRule, PreparedRanking, prepare
from .quality import set_scores

#: Reviewed texts below which calibration keeps the shipped rule.
MIN_EXAMPLES = 5
FIT_METRIC = "jaccard"


@dataclass(frozen=True)
class ReviewedExample:
    """One reviewed text: its ranked candidates (best first) and the confirmed skill ids."""

    text: str
    candidates: tuple[Candidate, ...]
    confirmed: frozenset[str]


@dataclass(frozen=True)
class RuleGrid:
    """The values tried for each `OutputRule` field (every combination is scored)."""

    min_confidence: tuple[float, ...] = tuple(round(0.30 + 0.025 * i, 3) for i in range(17))
    relative_margin: tuple[float, ...] = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.15, 1.0)
    max_skills: tuple[int, ...] = (1, 2, 3, 5, 10)
    min_skills: tuple[int, ...] = (0, 1)
    fold_similarity: tuple[float, ...] = (0.0, 0.85, 0.75)

    def rules(self) -> list[OutputRule]:
        """Every combination, in a fixed order."""
        return [OutputRule(t, m, cap, floor, fold) for fold, t, m, cap, floor in itertools.product(
            self.fold_similarity, self.min_confidence, self.relative_margin, self.max_skills,
            self.min_skills)]


@dataclass(frozen=True)
class Calibration:
    """The fitted rule, the shipped rule it started from, and both their mean Jaccard on the
    examples. `fell_back` is true when the data was too small and `rule` is the default."""

    rule: OutputRule
    default_rule: OutputRule
    fitted_score: float
    default_score: float
    n_examples: int
    fell_back: bool
    reason: str
    metric: str = FIT_METRIC

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form for experiment records and model cards."""
        return {"rule": self.rule.to_dict(), "default_rule": self.default_rule.to_dict(),
                "fitted_score": round(self.fitted_score, 6),
                "default_score": round(self.default_score, 6), "n_examples": self.n_examples,
                "fell_back": self.fell_back, "reason": self.reason, "metric": self.metric}


def rule_score(rule: OutputRule, examples: Sequence[ReviewedExample], skill_ids: Sequence[str],
               skill_vectors: np.ndarray | None = None) -> float:
    """Mean Jaccard of `rule`'s output over `examples` (1.0 for no examples, as two empty sets)."""
    prepared = [prepare(e.candidates, e.text, skill_vectors, rule.fold_similarity) for e in examples]
    return _mean_jaccard(rule, prepared, examples, skill_ids)


def _mean_jaccard(rule: OutputRule, prepared: Sequence[PreparedRanking],
                  examples: Sequence[ReviewedExample], skill_ids: Sequence[str]) -> float:
    if not examples:
        return 1.0
    total = 0.0
    for ranking, example in zip(prepared, examples):
        chosen = [skill_ids[s.candidate.row] for s in rule.cut(ranking)]
        total += set_scores(chosen, example.confirmed).jaccard
    return total / len(examples)


def fit_output_rule(examples: Sequence[ReviewedExample], skill_ids: Sequence[str],
                    skill_vectors: np.ndarray | None = None, default: OutputRule = SHIPPED_RULE,
                    grid: RuleGrid | None = None, min_examples: int = MIN_EXAMPLES) -> Calibration:
    """The `grid` rule with the highest mean Jaccard on `examples` (`skill_ids[row]` names a
    candidate's skill; `skill_vectors` enable folding), or `default` when the data is too small
    or no rule beats it."""
    grid = grid or RuleGrid()
    n = len(examples)
    default_score = rule_score(default, examples, skill_ids, skill_vectors) if examples else 0.0
    if n < min_examples:
        return Calibration(default, default, default_score, default_score, n, True,
                           f"{n} reviewed text(s), fewer than {min_examples}: shipped rule kept")
    if not any(e.confirmed for e in examples):
        return Calibration(default, default, default_score, default_score, n, True,
                           "no confirmed skill in any reviewed text (all rejected): shipped rule kept")
    prepared: dict[float, list[PreparedRanking]] = {}
    best_rule, best_score = default, default_score
    for rule in grid.rules():
        if rule.fold_similarity not in prepared:
            prepared[rule.fold_similarity] = [
                prepare(e.candidates, e.text, skill_vectors, rule.fold_similarity) for e in examples]
        score = _mean_jaccard(rule, prepared[rule.fold_similarity], examples, skill_ids)
        if score > best_score + 1e-12:
            best_rule, best_score = rule, score
    reason = "fitted on the reviewed texts" if best_rule != default \
        else "no grid rule beats the shipped rule: shipped rule kept"
    return Calibration(best_rule, default, best_score, default_score, n, False, reason)
