"""The Review page's working state, independent of Streamlit: one text under review, the
reviewer's decisions and added skills, kept in `st.session_state` until submitted."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ACCEPT, REJECT = "accept", "reject"


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip().startswith("[") else [value]
        except ValueError:
            value = [value]
    return [str(v) for v in (value or [])]


def skill_from_record(item: dict[str, Any]) -> dict[str, Any]:
    """A predicted skill in one shape, from an extraction record (`skillTitle`, ...) or a
    logged prediction row (`skill_title`, ...)."""
    return {
        "skill_id": item.get("skill_id"),
        "title": item.get("skillTitle") or item.get("skill_title") or item.get("skill_id"),
        "type": item.get("skillType") or item.get("skill_type") or "",
        "confidence": float(item.get("confidenceScore", item.get("confidence")) or 0.0),
        "tags": _tags(item.get("skillTags", item.get("tags"))),
        "phrase": item.get("phrase") or "",
        "start": item.get("phraseStart"),
        "end": item.get("phraseEnd"),
    }


@dataclass
class ReviewItem:
    """One text under review and what the reviewer decided so far."""

    request_id: str
    model_version: str
    text: str
    skills: list[dict[str, Any]]
    decisions: dict[str, str] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ReviewItem:
        """From an extraction record (`requestId`, `skillExtractOutput`, ...)."""
        return cls(
            record["requestId"],
            str(record.get("modelVersion") or ""),
            record.get("original_input") or "",
            [skill_from_record(s) for s in record.get("skillExtractOutput") or []],
        )

    @classmethod
    def from_prediction(cls, prediction: dict[str, Any]) -> ReviewItem:
        """From a logged prediction (`feedback.get_prediction` / `next_unreviewed`)."""
        return cls(
            prediction["request_id"],
            str(prediction.get("model_version") or ""),
            prediction.get("original_input") or "",
            [skill_from_record(s) for s in prediction.get("skills") or []],
        )

    def decide(self, skill_id: str, decision: str | None) -> None:
        """Record accept/reject for a predicted skill (None forgets the decision)."""
        if decision is None:
            self.decisions.pop(skill_id, None)
        elif decision in (ACCEPT, REJECT):
            self.decisions[skill_id] = decision
        else:
            raise ValueError(f"decision must be {ACCEPT!r} or {REJECT!r}, got {decision!r}")

    def add(self, skill_id: str) -> bool:
        """Add a skill the model missed; False when it is already predicted or added."""
        if skill_id in self.added or any(s["skill_id"] == skill_id for s in self.skills):
            return False
        self.added.append(skill_id)
        return True

    def remove_added(self, skill_id: str) -> None:
        """Take back an added skill."""
        if skill_id in self.added:
            self.added.remove(skill_id)

    @property
    def groups(self) -> list[PhraseGroup]:
        """The predicted skills grouped by evidence phrase, near-duplicates merged."""
        return group_suggestions(self.skills)

    @property
    def suggestions(self) -> list[Suggestion]:
        """Every suggestion, in the order the page shows them."""
        return [s for group in self.groups for s in group.suggestions]

    def decision_of(self, suggestion: Suggestion) -> str | None:
        """ACCEPT when one alternative is accepted, REJECT when all are rejected, else None."""
        decisions = [self.decisions.get(sid) for sid in suggestion.skill_ids]
        if ACCEPT in decisions:
            return ACCEPT
        return REJECT if decisions and all(d == REJECT for d in decisions) else None

    def picked(self, suggestion: Suggestion) -> str:
        """The alternative that accepting the suggestion keeps: the accepted one, else the best."""
        for sid in suggestion.skill_ids:
            if self.decisions.get(sid) == ACCEPT:
                return sid
        return suggestion.skill_ids[0]

    def decide_suggestion(
        self, suggestion: Suggestion, decision: str | None, pick: str | None = None
    ) -> None:
        """Accept one alternative (`pick`, default the picked one) and reject the others;
        reject them all; or (None) forget the suggestion's decisions."""
        if decision not in (ACCEPT, REJECT, None):
            raise ValueError(f"decision must be {ACCEPT!r}, {REJECT!r} or None, got {decision!r}")
        keep = pick or self.picked(suggestion)
        if decision == ACCEPT and keep not in suggestion.skill_ids:
            raise ValueError(f"{keep!r} is not an alternative of this suggestion")
        for sid in suggestion.skill_ids:
            if decision is None:
                self.decide(sid, None)
            else:
                self.decide(sid, ACCEPT if decision == ACCEPT and sid == keep else REJECT)

    def decide_remaining(self, decision: str) -> int:
        """Accept (each one's picked alternative) or reject every undecided suggestion; how many."""
        remaining = [s for s in self.suggestions if self.decision_of(s) is None]
        for suggestion in remaining:
            self.decide_suggestion(suggestion, decision)
        return len(remaining)

    @property
    def accepted(self) -> list[str]:
        return [s["skill_id"] for s in self.skills if self.decisions.get(s["skill_id"]) == ACCEPT]

    @property
    def rejected(self) -> list[str]:
        return [s["skill_id"] for s in self.skills if self.decisions.get(s["skill_id"]) == REJECT]

    @property
    def undecided(self) -> int:
        return sum(1 for s in self.skills if s["skill_id"] not in self.decisions)


# -- suggestions grouped by evidence phrase ------------------------------------------------------
#: Two titles at or above this similarity (Jaccard of their word stems) are near-duplicates.
SIMILAR_TITLES = 0.5
_STOPWORDS = frozenset(
    {"a", "an", "and", "as", "for", "in", "of", "on", "or", "the", "to", "use", "using", "with"}
)
_STEM_CHARS = 5


def title_stems(title: str) -> frozenset[str]:
    """The words of a title, lower-cased, without stop words, cut to their first five letters
    (a crude stem: "manage"/"management", "project"/"projects" meet)."""
    words = re.findall(r"[a-z0-9+#]+", title.lower())
    return frozenset(w[:_STEM_CHARS] for w in words if w not in _STOPWORDS)


def title_similarity(a: str, b: str) -> float:
    """Jaccard similarity of two titles' word stems, 0..1 (1 for two titles with no words)."""
    left, right = title_stems(a), title_stems(b)
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


@dataclass(frozen=True)
class Suggestion:
    """One suggested skill for a phrase, with its near-duplicates as alternatives (best first):
    the reviewer keeps one of them or rejects the suggestion."""

    phrase: str
    alternatives: tuple[dict[str, Any], ...]

    @property
    def skill_ids(self) -> list[str]:
        return [s["skill_id"] for s in self.alternatives]


@dataclass(frozen=True)
class PhraseGroup:
    """The suggestions whose evidence is one phrase (the empty phrase: no evidence given)."""

    phrase: str
    suggestions: tuple[Suggestion, ...]


def group_suggestions(skills: list[dict[str, Any]], threshold: float = SIMILAR_TITLES) -> list[PhraseGroup]:
    """Group predicted skills by evidence phrase (compared case- and space-insensitively), and
    within a phrase merge near-duplicates (title similarity >= `threshold`, transitively) into
    one suggestion. Alternatives are ordered by confidence, suggestions by their best one,
    groups by their best suggestion; ties keep the prediction order."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    order = sorted(range(len(skills)), key=lambda i: (-float(skills[i].get("confidence") or 0.0), i))
    by_phrase: dict[str, list[list[int]]] = {}
    shown: dict[str, str] = {}
    for index in order:
        phrase = " ".join(str(skills[index].get("phrase") or "").split())
        key = phrase.lower()
        shown.setdefault(key, phrase)
        clusters = by_phrase.setdefault(key, [])
        title = str(skills[index].get("title") or "")
        joined = [
            c
            for c in clusters
            if any(title_similarity(title, str(skills[o].get("title") or "")) >= threshold for o in c)
        ]
        if not joined:
            clusters.append([index])
            continue
        for other in joined[1:]:  # the new skill bridges clusters: one suggestion
            joined[0].extend(other)
            clusters.remove(other)
        joined[0].append(index)
        joined[0].sort(key=order.index)
    return [
        PhraseGroup(shown[key], tuple(Suggestion(shown[key], tuple(skills[i] for i in c)) for c in clusters))
        for key, clusters in by_phrase.items()
    ]


def next_undecided(item: ReviewItem, after: int) -> int:
    """The index of the first undecided suggestion after `after` (wrapping round), or `after`
    itself when every suggestion is decided: where the keyboard cursor goes after a decision."""
    suggestions = item.suggestions
    count = len(suggestions)
    for step in range(1, count + 1):
        index = (after + step) % count
        if item.decision_of(suggestions[index]) is None:
            return index
    return after
