"""The output set: which of a text's ranked candidates become the suggestions a reviewer sees.

An `OutputRule` keeps, best first:
1. after folding near-duplicates (same evidence phrase, skill vectors with cosine >=
   `fold_similarity`) into the best of them, whose `Suggestion.alternatives` keep the others;
2. the best `min_skills` suggestions whatever their confidence (a floor: a text always gets
   something to review), then every suggestion with confidence >= `min_confidence` that is also
   within `relative_margin` of the best candidate of its sentence (whole-text candidates: of the
   best overall); a sentence thus contributes its clear winners and a long text one group per
   sentence;
3. at most `max_skills` of them (`max_skills` per sentence when `cap_per_sentence`), or for a
   long text `skills_per_100_words` per hundred words when that is more (a 600-word posting that
   lists 25 skills is not cut at 10; 0 = a fixed cap).
With an `acceptance` model (`sea_core.acceptance`, fitted by calibration on reviewed texts),
step 2 is the model's expected-Jaccard cut instead of floor, threshold and margin; folding and
the cap stay.
`min_confidence <= 0` turns threshold, margin, acceptance and folding off: the output is then a
plain ranking (what `--min-confidence 0` asks for: every candidate, up to the cap).
The shipped rule (`SHIPPED_RULE`) is the pipeline's defaults, folding at
`SHIPPED_FOLD_SIMILARITY`, with the cap growing by `SHIPPED_SKILLS_PER_100_WORDS`; `calibration`
fits one on reviewed texts (with a per-sentence cap, so that a cap fitted on short texts still
lets a long one contribute per sentence). A stored rule without the length key is a fixed-cap rule (what it was built with);
without `cap_per_sentence`, a cap per text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .acceptance import AcceptanceModel
from .markup import plain_text
from .matching import Candidate

_SENTENCE_END = re.compile(r"[.!?;](?=\s)|\n")
_WORD = re.compile(r"\S+")
#: The shipped rule's cap for long texts: about one skill per sentence of a job ad (the
#: 283-word golden posting lists 12 expected skills; a fixed cap of 10 found 2 of them).
SHIPPED_SKILLS_PER_100_WORDS = 6.0
#: The shipped rule folds near-duplicates of one phrase at this cosine: on the dev sentences
#: Jaccard 0.430 against 0.410 without folding (0.425 at 0.85), on the 25 golden texts 0.368
#: against 0.340 (0.353), recall 0.569 against 0.588; the calibrated rules fold at 0.75 in most
#: folds as well.
SHIPPED_FOLD_SIMILARITY = 0.75
#: Folded alternatives kept per suggestion (the UI shows them next to the suggestion).
MAX_ALTERNATIVES = 3


def sentence_starts(text: str) -> list[int]:
    """Start offsets of the text's sentences (split at . ! ? ; before a space, and newlines)."""
    return [0] + [m.end() for m in _SENTENCE_END.finditer(text)]


@dataclass(frozen=True)
class Suggestion:
    """One suggested skill and the near-duplicate candidates folded into it (best first)."""

    candidate: Candidate
    alternatives: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class OutputRule:
    """How the output set is cut from the ranking (see the module docstring)."""

    min_confidence: float = 0.45
    relative_margin: float = 0.06
    max_skills: int = 10
    min_skills: int = 0
    fold_similarity: float = 0.0  # 0: no folding
    skills_per_100_words: float = 0.0  # 0: the cap is max_skills whatever the text's length
    cap_per_sentence: bool = False  # True: max_skills per sentence (`sentence_starts`)
    acceptance: AcceptanceModel | None = None  # a learned cut instead of floor/threshold/margin

    def __post_init__(self) -> None:
        if self.max_skills < 0 or self.min_skills < 0:
            raise ValueError(
                f"max_skills and min_skills must be >= 0, got {self.max_skills}, {self.min_skills}"
            )
        if self.relative_margin < 0:
            raise ValueError(f"relative_margin must be >= 0, got {self.relative_margin}")
        if not 0.0 <= self.fold_similarity <= 1.0:
            raise ValueError(f"fold_similarity must be in [0, 1], got {self.fold_similarity}")
        if self.skills_per_100_words < 0:
            raise ValueError(f"skills_per_100_words must be >= 0, got {self.skills_per_100_words}")
        if not isinstance(self.cap_per_sentence, bool):
            raise ValueError(f"cap_per_sentence must be true or false, got {self.cap_per_sentence!r}")
        if self.acceptance is not None and not isinstance(self.acceptance, AcceptanceModel):
            raise ValueError(f"acceptance must be an AcceptanceModel or None, got {self.acceptance!r}")

    def cap(self, words: int, sentences: int = 1) -> int:
        """The most suggestions for a text of `words` words in `sentences` sentences: `max_skills`
        (times `sentences` when `cap_per_sentence`), or `skills_per_100_words` per hundred words
        (rounded down) when that is more."""
        base = self.max_skills * max(1, sentences) if self.cap_per_sentence else self.max_skills
        return max(base, int(words * self.skills_per_100_words / 100))

    @property
    def folding(self) -> float:
        """The cosine it folds near-duplicates at: `fold_similarity`, 0 (none) for a plain
        ranking (`min_confidence <= 0`). Serving and calibration both prepare with it."""
        return self.fold_similarity if self.min_confidence > 0 else 0.0

    def describe(self) -> str:
        """The rule in a line (model cards, the demo); with an acceptance model, the threshold
        and margin are only its `rule_keeps` feature."""
        parts = [f"{k} {v}" for k, v in self.to_dict().items() if k != "acceptance"]
        if self.acceptance is not None:
            parts.append(self.acceptance.describe() + " instead of threshold and margin")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (bundle settings, experiment records, model cards); a rule without
        an acceptance model has no `acceptance` key (the form rules had before it existed)."""
        out = asdict(self)
        if self.acceptance is None:
            del out["acceptance"]
        else:
            out["acceptance"] = self.acceptance.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutputRule:
        """Inverse of `to_dict`; missing keys take the defaults, unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown output rule setting(s) {unknown}; known: {sorted(known)}")
        values = dict(data)
        acceptance = values.get("acceptance")
        if acceptance is not None:
            if not isinstance(acceptance, Mapping):
                raise ValueError(f"acceptance must be a mapping, got {acceptance!r}")
            values["acceptance"] = AcceptanceModel.from_dict(acceptance)
        return cls(**values)

    def apply(
        self, candidates: Sequence[Candidate], text: str, skill_vectors: np.ndarray | None = None
    ) -> list[Suggestion]:
        """The suggestions for `text` among its `candidates` (sorted best first). Folding needs
        the skill vectors (rows as in `Candidate.row`) and is skipped without them, and for a
        plain ranking (`min_confidence <= 0`)."""
        return self.cut(prepare(candidates, text, skill_vectors, self.folding))

    def cut(self, ranking: PreparedRanking) -> list[Suggestion]:
        """Steps 2 and 3 of the rule (floor, threshold and margin, or the acceptance model's cut;
        the cap) on a prepared ranking."""
        cap = self.cap(ranking.words, ranking.sentences)
        if self.min_confidence <= 0:
            return list(ranking.suggestions[:cap])
        kept = self.threshold_cut(ranking)
        if self.acceptance is not None:
            kept = self.acceptance.choose(ranking, cap, kept)
        return [ranking.suggestions[i] for i in kept]

    def threshold_cut(self, ranking: PreparedRanking) -> list[int]:
        """Positions the floor, threshold, margin and cap keep (the acceptance model aside)."""
        cap = self.cap(ranking.words, ranking.sentences)
        chosen: list[int] = []
        for position, (suggestion, reference) in enumerate(zip(ranking.suggestions, ranking.references)):
            confidence = suggestion.candidate.confidence
            if position < self.min_skills or (
                confidence >= self.min_confidence and confidence >= reference - self.relative_margin
            ):
                chosen.append(position)
                if len(chosen) == cap:
                    break
        return chosen[:cap]

    def select(
        self, candidates: Sequence[Candidate], text: str, skill_vectors: np.ndarray | None = None
    ) -> list[Candidate]:
        """The chosen candidates of `apply`, without their alternatives."""
        return [s.candidate for s in self.apply(candidates, text, skill_vectors)]


@dataclass(frozen=True)
class PreparedRanking:
    """A text's suggestions after folding, each with the confidence its margin is measured
    from (the best candidate of its sentence; for whole-text candidates the best overall), and
    the text's length in words and sentences (for the cap), and each suggestion's sentence."""

    suggestions: tuple[Suggestion, ...]
    references: tuple[float, ...]
    words: int = 0
    sentences: int = 1
    groups: tuple[int, ...] = ()  # each suggestion's sentence index (-1: a whole-text candidate)


def prepare(
    candidates: Sequence[Candidate],
    text: str,
    skill_vectors: np.ndarray | None = None,
    fold_similarity: float = 0.0,
) -> PreparedRanking:
    """Step 1 of the rule: fold near-duplicates (when `fold_similarity` > 0 and the vectors are
    given) and find each suggestion's margin reference. Sentences and words are those of the
    text as the model read it (`markup.plain_text`: a tag breaks a line and is no word)."""
    text = plain_text(text)
    suggestions = (
        fold_near_duplicates(candidates, skill_vectors, fold_similarity)
        if fold_similarity > 0 and skill_vectors is not None
        else [Suggestion(c) for c in candidates]
    )
    starts = sentence_starts(text)
    best: dict[int, float] = {}
    for cand in candidates:
        best.setdefault(_group(starts, cand), cand.confidence)
    overall = candidates[0].confidence if candidates else 0.0
    references, groups = [], []
    for suggestion in suggestions:
        group = _group(starts, suggestion.candidate)
        references.append(overall if group < 0 else best[group])
        groups.append(group)
    sentences = sum(1 for a, b in zip(starts, [*starts[1:], len(text)]) if text[a:b].strip())
    return PreparedRanking(
        tuple(suggestions), tuple(references), len(_WORD.findall(text)), sentences, tuple(groups)
    )


def _group(starts: list[int], cand: Candidate) -> int:
    """The sentence index of the candidate's phrase; -1 for whole-text candidates."""
    return bisect.bisect_right(starts, cand.phrase_start) - 1 if cand.phrase_start >= 0 else -1


#: The rule the pipeline ships with (its `PipelineConfig` defaults, folding near-duplicates, a
#: cap that grows with long texts).
SHIPPED_RULE = OutputRule(
    fold_similarity=SHIPPED_FOLD_SIMILARITY, skills_per_100_words=SHIPPED_SKILLS_PER_100_WORDS
)


def fold_near_duplicates(
    candidates: Sequence[Candidate], skill_vectors: np.ndarray, min_similarity: float
) -> list[Suggestion]:
    """Candidates (best first) grouped into suggestions: a candidate whose evidence phrase is the
    same as a better one's (same offsets) and whose skill vector has cosine >= `min_similarity`
    with that one's is folded into it as an alternative (at most `MAX_ALTERNATIVES` kept)."""
    kept: list[Suggestion] = []
    for cand in candidates:
        for position, suggestion in enumerate(kept):
            head = suggestion.candidate
            if (head.phrase_start, head.phrase_end) == (cand.phrase_start, cand.phrase_end) and float(
                skill_vectors[head.row] @ skill_vectors[cand.row]
            ) >= min_similarity:
                if len(suggestion.alternatives) < MAX_ALTERNATIVES:
                    kept[position] = Suggestion(head, suggestion.alternatives + (cand,))
                break
        else:
            kept.append(Suggestion(cand))
    return kept


def select_output(
    candidates: list[Candidate], text: str, min_confidence: float, top_k: int, relative_margin: float
) -> list[Candidate]:
    """The output set of the rule (`min_confidence`, `relative_margin`, cap `top_k`), no floor
    and no folding: the pipeline's historical signature."""
    return OutputRule(min_confidence, relative_margin, top_k).select(candidates, text)
