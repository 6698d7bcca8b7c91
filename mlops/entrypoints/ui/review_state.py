"""The Review page's working state, independent of Streamlit: one text under review, the
reviewer's decisions and added skills, kept in `st.session_state` until submitted."""

from __future__ import annotations

import json
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
    def accepted(self) -> list[str]:
        return [s["skill_id"] for s in self.skills if self.decisions.get(s["skill_id"]) == ACCEPT]

    @property
    def rejected(self) -> list[str]:
        return [s["skill_id"] for s in self.skills if self.decisions.get(s["skill_id"]) == REJECT]

    @property
    def undecided(self) -> int:
        return sum(1 for s in self.skills if s["skill_id"] not in self.decisions)
