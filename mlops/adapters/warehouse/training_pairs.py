"""The training pairs' repository: snapshots of (anchor, candidate, label) pairs under a data
version, and the reviewed feedback they are built from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops.adapters.warehouse.base import Session

PAIR_COLUMNS = (
    "pair_id",
    "anchor",
    "candidate",
    "label",
    "source",
    "request_id",
    "skill_id",
    "data_version",
    "created_at",
)


@dataclass(frozen=True)
class FeedbackExample:
    """One reviewed decision with what the model saw: its phrase and title (None for skills the
    reviewer added) and the request text."""

    request_id: str
    skill_id: str
    decision: str
    phrase: str | None
    skill_title: str | None
    original_input: str | None


class TrainingPairRepository(ABC):
    """Where training pair snapshots are stored; a pair is a dict with the `PAIR_COLUMNS`."""

    @abstractmethod
    def feedback_examples(self, since: str | None = None) -> list[FeedbackExample]:
        """Every feedback decision reviewed at or after `since` (a timestamp; None: all)."""

    @abstractmethod
    def data_versions(self) -> list[str]:
        """The distinct data versions stored."""

    @abstractmethod
    def count(self, data_version: str) -> int:
        """How many pairs a data version holds."""

    @abstractmethod
    def replace(self, data_version: str, pairs: Sequence[dict[str, Any]]) -> None:
        """Store `pairs` as the whole of `data_version` (call inside a transaction)."""

    @abstractmethod
    def load(self, data_version: str) -> list[dict[str, Any]]:
        """The pairs of a data version, by pair id, `label` as a float."""


class SqlTrainingPairRepository(TrainingPairRepository):
    """`training_pairs`, read with `feedback`, `prediction_skills` and `prediction_requests`."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def feedback_examples(self, since: str | None = None) -> list[FeedbackExample]:
        where, params = "", []
        if since is not None:
            where = " WHERE f.reviewed_at >= ?"
            params.append(since)
        rows = self.db.query(
            "SELECT f.request_id, f.skill_id, f.decision, ps.phrase, ps.skill_title, r.original_input "
            "FROM feedback f JOIN feedback_submissions s ON s.request_id = f.request_id "
            "AND s.reviewer = f.reviewer "  # the prediction the reviewer saw: (request, version)
            "LEFT JOIN prediction_skills ps ON ps.request_id = f.request_id "
            "AND ps.model_version = s.model_version AND ps.skill_id = f.skill_id "
            "LEFT JOIN prediction_requests r ON r.request_id = f.request_id "
            f"AND r.model_version = s.model_version{where}",
            params,
        )
        return [FeedbackExample(**row) for row in rows]

    def data_versions(self) -> list[str]:
        return [
            row["data_version"] for row in self.db.query("SELECT DISTINCT data_version FROM training_pairs")
        ]

    def count(self, data_version: str) -> int:
        return int(
            self.db.scalar("SELECT COUNT(*) FROM training_pairs WHERE data_version = ?", (data_version,)) or 0
        )

    def replace(self, data_version: str, pairs: Sequence[dict[str, Any]]) -> None:
        self.db.execute("DELETE FROM training_pairs WHERE data_version = ?", (data_version,))
        self.db.executemany(
            f"INSERT INTO training_pairs ({', '.join(PAIR_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(PAIR_COLUMNS))})",
            (tuple(pair[c] for c in PAIR_COLUMNS) for pair in pairs),
        )

    def load(self, data_version: str) -> list[dict[str, Any]]:
        rows = self.db.query(
            f"SELECT {', '.join(PAIR_COLUMNS)} FROM training_pairs WHERE data_version = ? ORDER BY pair_id",
            (data_version,),
        )
        for row in rows:
            row["label"] = float(row["label"])
        return rows
