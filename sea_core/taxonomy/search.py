"""Ranked skill search for people (type-ahead in the review and taxonomy pages).

A skill is found by its names (title and alternative labels, ESCO's joined runs cut back into
labels) and by meaning. The name score is idf-weighted word matching: each query word counts
fully when a name has it, and almost fully when a name word starts with it (type-ahead, plurals),
so "aws" no longer matches inside "laws" and "stakeholder management" finds skills whose names
hold both words in any order. The meaning score is the cosine between the query's vector and
the skill vectors the pipeline has already loaded (only the query is encoded). The two are
blended; each hit says which name matched, or that it matched by meaning.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .model import Skill, Taxonomy

_WORD = re.compile(r"[a-z0-9][a-z0-9+#]*")
STOPWORDS = frozenset("a an and as at by for from in into of on or the to with".split())
PREFIX_CREDIT = 0.85  # a query word that only starts a name word, times sqrt(len ratio)
MIN_MEANING = 0.42  # a skill found by meaning alone needs at least this cosine (MiniLM: "aws" ->
# "cloud technologies" 0.47; "kafka" -> languages 0.39)
NAME_WEIGHT, MEANING_WEIGHT = 0.6, 0.4
MEANING_CANDIDATES = 50  # skills taken from the meaning side before blending
MIN_PREFIX = 2  # shorter query words match whole words only
EXACT_BONUS, PREFIX_BONUS = 0.15, 0.05
ALT_LABEL_FACTOR = 0.85  # a match on the title beats the same match on an alternative label

Encode = Callable[[list[str]], np.ndarray]


def words(text: str) -> list[str]:
    """Lower-cased words of `text` without stop words (order kept)."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@dataclass(frozen=True)
class SearchHit:
    """One result: the skill, the blended score, the name that matched (the title when it
    matched by meaning only) and how it matched: "name", "meaning" or "name+meaning"."""

    skill: Skill
    score: float
    matched_name: str
    how: str


class SkillSearch:
    """Search over one taxonomy. `names[i]` are skill i's names (title first, e.g. from
    `sea_core.labels.skill_names`); `matrix` holds one unit vector per skill in taxonomy order
    and `encode` embeds query texts with the same encoder; without them only names are searched."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        names: Sequence[Sequence[str]],
        matrix: np.ndarray | None = None,
        encode: Encode | None = None,
    ) -> None:
        if len(names) != len(taxonomy):
            raise ValueError(f"names for {len(names)} skills, taxonomy has {len(taxonomy)}")
        if matrix is not None and matrix.shape[0] != len(taxonomy):
            raise ValueError(f"matrix has {matrix.shape[0]} rows, taxonomy has {len(taxonomy)} skills")
        self.skills = list(taxonomy)
        self.matrix = (
            np.asarray(matrix, dtype=np.float32) if matrix is not None and encode is not None else None
        )
        self.encode = encode
        # skill row, name, its words, normalised name, weight (title 1, alternative label less)
        self.names: list[tuple[int, str, frozenset[str], str, float]] = []
        postings: defaultdict[str, set[int]] = defaultdict(set)
        skill_words: defaultdict[str, set[int]] = defaultdict(set)
        for row, skill_names in enumerate(names):
            for rank, name in enumerate(skill_names):
                name_word_list = words(name)
                if not name_word_list:
                    continue
                name_words = frozenset(name_word_list)
                position = len(self.names)
                weight = 1.0 if rank == 0 else ALT_LABEL_FACTOR
                self.names.append((row, name, name_words, " ".join(name_word_list), weight))
                for word in name_words:
                    postings[word].add(position)
                    skill_words[word].add(row)
        self.postings = {w: sorted(p) for w, p in postings.items()}
        self.vocabulary = sorted(self.postings)
        n = max(1, len(self.skills))
        self.idf = {w: math.log(1 + n / len(rows)) for w, rows in skill_words.items()}
        self.unknown_idf = math.log(1 + n)

    def _name_scores(self, query_words: list[str], query_text: str) -> dict[int, tuple[float, int]]:
        """Best (name score, name position) per skill row with a name matching a query word."""
        weights = [self.idf.get(w, self.unknown_idf) for w in query_words]
        total = sum(weights)
        credit: defaultdict[int, float] = defaultdict(float)
        for word, weight in zip(query_words, weights):
            hits: dict[int, float] = {p: 1.0 for p in self.postings.get(word, ())}
            if len(word) >= MIN_PREFIX:
                start = bisect.bisect_left(self.vocabulary, word)
                for other in self.vocabulary[start:]:
                    if not other.startswith(word):
                        break
                    if other != word:
                        partial = PREFIX_CREDIT * math.sqrt(len(word) / len(other))
                        for p in self.postings[other]:
                            hits[p] = max(hits.get(p, 0.0), partial)
            for position, value in hits.items():
                credit[position] += weight * value
        best: dict[int, tuple[float, int]] = {}
        for position, value in credit.items():
            row, _, name_words, normalised, weight = self.names[position]
            coverage = value / total
            covered = sum(any(n.startswith(q) for q in query_words) for n in name_words) / len(name_words)
            score = coverage * (0.75 + 0.25 * covered)
            if normalised == query_text:
                score += EXACT_BONUS
            elif normalised.startswith(query_text):
                score += PREFIX_BONUS
            score *= weight
            if score > best.get(row, (0.0, -1))[0]:
                best[row] = (score, position)
        return best

    def search(self, query: str, limit: int = 15) -> list[SearchHit]:
        """The best `limit` skills for `query`, best first; [] for a blank query."""
        query_words = words(query)
        if not query_words or limit < 1:
            return []
        by_name = self._name_scores(query_words, " ".join(query_words))
        meaning: dict[int, float] = {}
        searched_meaning = self.matrix is not None
        if self.matrix is not None and self.encode is not None:
            vector = np.asarray(self.encode([" ".join(query.split())]), dtype=np.float32)[0]
            sims = self.matrix @ vector
            top = min(MEANING_CANDIDATES, len(sims))
            for row in np.argpartition(-sims, top - 1)[:top]:
                if sims[row] >= MIN_MEANING:
                    meaning[int(row)] = float(sims[row])
            for row in by_name:
                meaning.setdefault(row, float(sims[row]))
        hits = []
        for row in set(by_name) | set(meaning):
            name_score, position = by_name.get(row, (0.0, -1))
            cosine = max(0.0, meaning.get(row, 0.0))
            score = NAME_WEIGHT * name_score + MEANING_WEIGHT * cosine if searched_meaning else name_score
            how = "meaning" if not name_score else ("name+meaning" if cosine >= MIN_MEANING else "name")
            matched = self.names[position][1] if position >= 0 else self.skills[row].title
            hits.append(SearchHit(self.skills[row], round(score, 4), matched, how))
        hits.sort(key=lambda h: (-h.score, len(h.skill.title), h.skill.title))
        return hits[:limit]
