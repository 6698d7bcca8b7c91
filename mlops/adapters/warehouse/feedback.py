"""The feedback's repository: per reviewed request one submission (`feedback_submissions`:
who, when, |predicted|, |confirmed|, overlap) and one decision row per skill (`feedback`)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Sequence

from mlops.adapters.warehouse.base import Session

ACCEPTED, REJECTED, ADDED = "accepted", "rejected", "added"
DECISIONS = (ACCEPTED, REJECTED, ADDED)
CONFIRMING = (ACCEPTED, ADDED)


@dataclass(frozen=True)
class Submission:
    """One reviewer's submission on a request, with its decided skill ids per decision."""

    request_id: str
    reviewer: str
    model_version: str | None
    submitted_at: str
    day: str
    week: str
    n_predicted: int
    n_confirmed: int
    n_overlap: int
    accepted: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    added: tuple[str, ...] = field(default=())

    def decisions(self) -> list[tuple[str, str]]:
        """(skill_id, decision) pairs in decision order."""
        return [(skill_id, decision) for decision in DECISIONS for skill_id in getattr(self, decision)]


class FeedbackRepository(ABC):
    """Where reviewer feedback is stored."""

    @abstractmethod
    def submission(self, request_id: str) -> Submission | None:
        """The newest submission of a request (decisions sorted by skill id), or None."""

    @abstractmethod
    def count(self, request_id: str) -> int:
        """How many submissions the request has."""

    @abstractmethod
    def replace(self, submission: Submission) -> None:
        """Store a submission and its decisions in place of the request's earlier ones
        (call inside a transaction)."""

    @abstractmethod
    def confirmed(self, request_ids: Sequence[str]) -> dict[str, set[str]]:
        """Per reviewed request among `request_ids`: the confirmed skill ids (accepted + added)."""


class SqlFeedbackRepository(FeedbackRepository):
    """`feedback_submissions` and `feedback`."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def submission(self, request_id: str) -> Submission | None:
        head = self.db.query_one(
            "SELECT request_id, reviewer, model_version, submitted_at, day, week, n_predicted, "
            "n_confirmed, n_overlap FROM feedback_submissions WHERE request_id = ? "
            "ORDER BY submitted_at DESC LIMIT 1", (request_id,))
        if head is None:
            return None
        rows = self.db.query("SELECT skill_id, decision FROM feedback WHERE request_id = ? "
                             "ORDER BY skill_id", (request_id,))
        accepted, rejected, added = (tuple(r["skill_id"] for r in rows if r["decision"] == d)
                                     for d in DECISIONS)
        return Submission(head["request_id"], head["reviewer"], head["model_version"],
                          head["submitted_at"], head["day"], head["week"], int(head["n_predicted"]),
                          int(head["n_confirmed"]), int(head["n_overlap"]), accepted, rejected, added)

    def count(self, request_id: str) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM feedback_submissions WHERE request_id = ?",
                                  (request_id,)) or 0)

    def replace(self, submission: Submission) -> None:
        s = submission
        self.db.execute("DELETE FROM feedback_submissions WHERE request_id = ?", (s.request_id,))
        self.db.execute("DELETE FROM feedback WHERE request_id = ?", (s.request_id,))
        rows = [(s.request_id, skill_id, decision, s.reviewer, s.submitted_at, s.day, s.week)
                for skill_id, decision in s.decisions()]
        if rows:
            self.db.executemany(
                "INSERT INTO feedback (request_id, skill_id, decision, reviewer, reviewed_at, "
                "day, week) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self.db.execute(
            "INSERT INTO feedback_submissions (request_id, reviewer, model_version, submitted_at, "
            "day, week, n_predicted, n_confirmed, n_overlap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.request_id, s.reviewer, s.model_version, s.submitted_at, s.day, s.week,
             s.n_predicted, s.n_confirmed, s.n_overlap))

    def confirmed(self, request_ids: Sequence[str]) -> dict[str, set[str]]:
        if not request_ids:
            return {}
        marks = ", ".join("?" * len(request_ids))
        rows = self.db.query(f"SELECT request_id, skill_id FROM feedback WHERE request_id IN ({marks}) "
                             f"AND decision IN ('{ACCEPTED}', '{ADDED}')", list(request_ids))
        reviewed = self.db.query(f"SELECT DISTINCT request_id FROM feedback_submissions "
                                 f"WHERE request_id IN ({marks})", list(request_ids))
        confirmed: dict[str, set[str]] = {row["request_id"]: set() for row in reviewed}
        for row in rows:
            confirmed.setdefault(row["request_id"], set()).add(row["skill_id"])
        return confirmed
