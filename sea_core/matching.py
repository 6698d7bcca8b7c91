"""Matching spans to the taxonomy by cosine similarity, aggregating per skill, re-ranking by the
skill's relevance to the whole text."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .spans import Span

FULL_TEXT_PHRASE = "full text"


@dataclass(frozen=True)
class RerankSettings:
    """A learned linear re-ranker (`sea_core.reranker`): one weight per feature name; the first
    `depth` candidates are re-ordered by the weighted sum of their features. `depth` 0 = off."""

    features: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    depth: int = 0

    @classmethod
    def from_dict(cls, data: dict | None) -> RerankSettings:
        """Inverse of `dataclasses.asdict` (JSON lists become tuples); None = off."""
        data = dict(data or {})
        return cls(
            tuple(data.get("features", ())),
            tuple(float(w) for w in data.get("weights", ())),
            int(data.get("depth", 0)),
        )


#: The re-ranker's feature names, in column order of `reranker.candidate_features` (a bundle's
#: `RerankSettings.features` is a prefix of them: features are only ever appended).
FEATURES = (
    "confidence",
    "span_similarity",
    "text_similarity",
    "has_span",
    "inverse_rank",
    "log_occurrence",
    "log_support",
    "exact_name",
    "label_max",
    "label_max_text",
    "title_max",
    "log_names",
    "bm25_phrase",
    "bm25_text",
    "title_overlap",
    "title_in_text",
    "phrase_coverage",
    "title_maxsim",
)
#: The default re-ranker, late interaction (`sea_core.token_match`): the first
#: `LATE_INTERACTION_DEPTH` candidates re-ordered by confidence + `LATE_INTERACTION_WEIGHT` x the
#: title's max-sim against the text + `LATE_INTERACTION_EXACT_WEIGHT` when a phrase of the text is
#: one of the skill's names (so "HTML" keeps "use markup languages", whose label is "use HTML").
#: 5-fold cross-validation on the dev benchmark picked the max-sim weight 0.7 in every fold and an
#: exact-name weight of 0.05 in four; 0.1 ships because 0.05 still drops that HTML case from a
#: text's top 15 (README's quality section, `benchmarks/bench_late_interaction.py`).
#: Matcher 4 re-orders the top 40 (was 20) of a pool with 30 whole-text neighbours (was 10): the
#: skills the whole text is near but no phrase names get a max-sim hearing. Same weights; dev MRR
#: and Jaccard no lower, tech R-P@5 +0.02, golden Jaccard +0.02 (README, the same benchmark).
LATE_INTERACTION_WEIGHT = 0.7
LATE_INTERACTION_EXACT_WEIGHT = 0.1
LATE_INTERACTION_DEPTH = 40
TEXT_NEIGHBOURS = 30


def late_interaction_reranker(
    weight: float = LATE_INTERACTION_WEIGHT,
    depth: int = LATE_INTERACTION_DEPTH,
    exact_weight: float = LATE_INTERACTION_EXACT_WEIGHT,
) -> RerankSettings:
    """Re-order the first `depth` candidates by confidence + `weight` x title max-sim +
    `exact_weight` x exact name (the text's tokens come from its own encoder pass, the titles'
    are encoded once per skill)."""
    by_feature = {"confidence": 1.0, "title_maxsim": weight, "exact_name": exact_weight}
    return RerankSettings(FEATURES, tuple(by_feature.get(f, 0.0) for f in FEATURES), depth)


#: The best re-ranker found (written by `benchmarks/bench_ranking.py --write-reranker`: the
#: variant with the best held-out MRR, fitted on the whole dev split). Opt-in, not the default:
#: it drops expected skills of the functional job texts (see the README's quality section).
DEV_RERANKER_FILE = Path(__file__).resolve().parent / "data" / "reranker.json"


@functools.cache
def dev_reranker() -> RerankSettings:
    """The settings of `DEV_RERANKER_FILE`."""
    return RerankSettings.from_dict(json.loads(DEV_RERANKER_FILE.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class MatchConfig:
    """Knobs of matching and re-ranking (defaults tuned on the development benchmark)."""

    span_top_n: int = 5  # taxonomy candidates kept per span
    text_top_n: int = TEXT_NEIGHBOURS  # candidates taken from the whole text's own embedding
    span_weight: float = 0.5  # confidence = w * best span similarity + (1 - w) * text relevance
    occurrence_bonus: float = 0.02  # added per extra span that supports the same skill (capped)
    max_occurrence_bonus: float = 0.06
    relative_margin: float = 0.06  # output set: within this of the best skill of the same sentence
    exact_name_bonus: float = 0.025  # added to a span's similarity to a skill it names exactly
    rerank: RerankSettings = field(default_factory=late_interaction_reranker)  # depth 0: off

    @classmethod
    def from_settings(cls, settings: dict) -> MatchConfig:
        """The config a bundle's `match` settings describe. A setting the bundle predates takes
        the value that reproduces the matcher it was built with (e.g. no exact-name bonus)."""
        merged = {**LEGACY_SETTINGS, **settings}
        merged["rerank"] = (
            RerankSettings.from_dict(settings.get("rerank"))
            if not isinstance(merged["rerank"], RerankSettings)
            else merged["rerank"]
        )
        return cls(**merged)


# The knobs each matcher generation added or changed, oldest first, with the values they had
# before it (that turn an added knob off): 2 = exact names, 3 = late interaction over the top 20,
# 4 = late interaction over the top 40 of a wider pool.
MATCHER_GENERATIONS: tuple[dict, ...] = (
    {"exact_name_bonus": 0.0},
    {"rerank": RerankSettings()},
    {"text_top_n": 10, "rerank": late_interaction_reranker(depth=20)},
)
# What bundles written before a knob existed were built with: its value before the oldest
# generation that names it.
LEGACY_SETTINGS: dict = {k: v for generation in reversed(MATCHER_GENERATIONS) for k, v in generation.items()}


def matcher_kind(config: MatchConfig) -> str:
    """The kind of matcher `config` is, as a model version records it: the generations of knobs
    it uses and its re-ranker's weighted features and depth (tuned values are not part of it),
    e.g. "spans+exact-names+rerank[exact_name,title_maxsim]@20". A new kind is a major version."""
    parts = ["spans"]
    if config.exact_name_bonus:
        parts.append("exact-names")
    rerank = config.rerank
    if rerank.depth:
        used = [f for f, w in zip(rerank.features, rerank.weights) if w and f != "confidence"]
        parts.append(f"rerank[{','.join(used)}]@{rerank.depth}")
    return "+".join(parts)


def previous_matcher(config: MatchConfig) -> MatchConfig:
    """The matcher before `config`'s generation: the knobs of the newest generation it has
    reached set back to their values before it (a config has reached each generation, oldest
    first, whose before-values it does not all hold); `config` itself when it reached none."""
    reached = None
    for generation in MATCHER_GENERATIONS:
        if all(getattr(config, knob) == before for knob, before in generation.items()):
            break
        reached = generation
    return config if reached is None else replace(config, **reached)


@dataclass
class Candidate:
    """One skill supported by the text: where it came from and how strongly."""

    row: int
    span_similarity: float = 0.0
    text_similarity: float = 0.0
    phrase: str = FULL_TEXT_PHRASE
    phrase_start: int = -1
    phrase_end: int = -1
    occurrence: int = 0
    confidence: float = 0.0
    supporting: list[int] = field(default_factory=list)


def top_n(similarities: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise indices and values of the `n` largest entries, best first."""
    n = max(1, min(n, similarities.shape[1]))
    if n < similarities.shape[1]:
        part = np.argpartition(-similarities, n - 1, axis=1)[:, :n]
    else:
        part = np.tile(np.arange(similarities.shape[1]), (similarities.shape[0], 1))
    values = np.take_along_axis(similarities, part, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def rank_candidates(
    spans: list[Span],
    span_vectors: np.ndarray,
    text_vector: np.ndarray,
    skill_matrix: np.ndarray,
    config: MatchConfig = MatchConfig(),
    exact_rows: Sequence[Sequence[int]] | None = None,
) -> list[Candidate]:
    """Candidates from every span's nearest skills and from the whole text's nearest skills,
    scored by `config` and sorted by confidence (ties by row for determinism). `exact_rows[s]`
    are the skills span `s` names exactly: their similarity to it gets `exact_name_bonus`."""
    if skill_matrix.shape[0] == 0:
        return []
    span_sims = span_similarities(spans, span_vectors, skill_matrix, config, exact_rows)
    return rank_similarities(spans, span_sims, skill_matrix @ text_vector, config)


def span_similarities(
    spans: list[Span],
    span_vectors: np.ndarray,
    skill_matrix: np.ndarray,
    config: MatchConfig = MatchConfig(),
    exact_rows: Sequence[Sequence[int]] | None = None,
) -> np.ndarray:
    """(spans, skills) cosines of each span with each skill, plus `config.exact_name_bonus`
    (capped at 1) where `exact_rows[s]` says span `s` names the skill exactly."""
    span_sims = span_vectors @ skill_matrix.T if spans else np.zeros((0, skill_matrix.shape[0]))
    if exact_rows is not None and config.exact_name_bonus:
        for s, rows in enumerate(exact_rows):
            if rows:
                rows = list(rows)
                span_sims[s, rows] = np.minimum(1.0, span_sims[s, rows] + config.exact_name_bonus)
    return span_sims


def rank_similarities(
    spans: list[Span], span_sims: np.ndarray, text_sims: np.ndarray, config: MatchConfig = MatchConfig()
) -> list[Candidate]:
    """`rank_candidates` from similarities already computed: `span_sims` (spans x skills) and
    `text_sims` (skills,)."""
    if text_sims.shape[0] == 0:
        return []
    candidates: dict[int, Candidate] = {}
    if spans:
        rows, values = top_n(span_sims, config.span_top_n)
        for s, span in enumerate(spans):
            for row, value in zip(rows[s].tolist(), values[s].tolist()):
                cand = candidates.setdefault(row, Candidate(row=row))
                cand.supporting.append(s)
                if value > cand.span_similarity:
                    cand.span_similarity = value
                    cand.phrase, cand.phrase_start, cand.phrase_end = span.text, span.start, span.end
            candidates[int(rows[s, 0])].occurrence += 1
    text_rows, _ = top_n(text_sims[None, :], config.text_top_n)
    for row in text_rows[0].tolist():
        candidates.setdefault(row, Candidate(row=row))
    for cand in candidates.values():
        cand.text_similarity = float(text_sims[cand.row])
        span_part = cand.span_similarity if cand.supporting else cand.text_similarity
        bonus = min(config.max_occurrence_bonus, config.occurrence_bonus * max(0, cand.occurrence - 1))
        cand.confidence = float(
            config.span_weight * span_part + (1 - config.span_weight) * cand.text_similarity + bonus
        )
        cand.occurrence = max(cand.occurrence, 1)
    return sorted(candidates.values(), key=lambda c: (-c.confidence, c.row))
