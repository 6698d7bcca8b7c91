"""The feedback's repository: per (reviewed request, reviewer) one review (`feedback_submissions`:
who, when, which model version's prediction, |predicted|, |confirmed|, overlap) with one
decision row per skill (`feedback`), and the scores of every prediction of the text against each
review (`prediction_scores`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Score:
    """One prediction (request id, model version) scored against one review of its text (the
    reviewer's confirmed set): the counts |predicted|, |confirmed|, |overlap| monitoring
    averages, dated when both existed (`scored_at`, `day`, `week`)."""

    request_id: str
    model_version: str | None
    reviewer: str
    scored_at: str
    day: str
    week: str
    n_predicted: int
    n_confirmed: int
    n_overlap: int


SUBMISSION_COLUMNS = (
    "request_id",
    "reviewer",
    "model_version",
    "submitted_at",
    "day",
    "week",
    "n_predicted",
    "n_confirmed",
    "n_overlap",
)
SCORE_COLUMNS = (
    "request_id",
    "model_version",
    "reviewer",
    "scored_at",
    "day",
    "week",
    "n_predicted",
    "n_confirmed",
    "n_overlap",
)


class FeedbackRepository(ABC):
    """Where reviewer feedback is stored: one review per (request id, reviewer), and the
    scores of the text's predictions against each review."""

    @abstractmethod
    def submission(self, request_id: str, reviewer: str | None = None) -> Submission | None:
        """The newest review of a request (of `reviewer` when given; decisions sorted by skill
        id), or None."""

    @abstractmethod
    def reviews(self, request_id: str) -> list[Submission]:
        """Every reviewer's review of a request, by reviewer (decisions sorted by skill id)."""

    @abstractmethod
    def count(self, request_id: str, reviewer: str | None = None) -> int:
        """How many reviews the request has (by `reviewer` when given)."""

    @abstractmethod
    def replace(self, submission: Submission, scores: Sequence[Score] = ()) -> None:
        """Store a review and its decisions in place of the same reviewer's earlier review of
        the request, and `scores` in place of that review's scores (call inside a
        transaction); other reviewers' reviews stay."""

    @abstractmethod
    def replace_scores(self, request_id: str, model_version: str | None, scores: Sequence[Score]) -> None:
        """Store `scores` in place of every score of one prediction (call inside a
        transaction)."""

    @abstractmethod
    def confirmed(self, request_ids: Sequence[str]) -> dict[str, set[str]]:
        """Per reviewed request among `request_ids`: the text's confirmed skill ids, the skills
        confirmed (accepted or added) by at least half of its reviewers (with one reviewer,
        that reviewer's set)."""


def majority(votes: dict[str, int], n_reviews: int) -> set[str]:
    """The skills confirmed by at least half of `n_reviews` reviews (`votes`: confirmations per
    skill id)."""
    return {skill_id for skill_id, n in votes.items() if 2 * n >= n_reviews}


class SqlFeedbackRepository(FeedbackRepository):
    """`feedback_submissions`, `feedback` and `prediction_scores`."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def _reviews(self, request_id: str, reviewer: str | None, newest_only: bool) -> list[Submission]:
        where, params = "request_id = ?", [request_id]
        if reviewer is not None:
            where += " AND reviewer = ?"
            params.append(reviewer)
        order = "submitted_at DESC, reviewer LIMIT 1" if newest_only else "reviewer"
        heads = self.db.query(
            f"SELECT {', '.join(SUBMISSION_COLUMNS)} FROM feedback_submissions "
            f"WHERE {where} ORDER BY {order}",
            params,
        )
        if not heads:
            return []
        if newest_only:
            where, params = "request_id = ? AND reviewer = ?", [request_id, heads[0]["reviewer"]]
        rows = self.db.query(
            f"SELECT reviewer, skill_id, decision FROM feedback WHERE {where} ORDER BY skill_id", params
        )
        out = []
        for head in heads:
            mine = [r for r in rows if r["reviewer"] == head["reviewer"]]
            decided = (tuple(r["skill_id"] for r in mine if r["decision"] == d) for d in DECISIONS)
            out.append(
                Submission(
                    head["request_id"],
                    head["reviewer"],
                    head["model_version"],
                    head["submitted_at"],
                    head["day"],
                    head["week"],
                    int(head["n_predicted"]),
                    int(head["n_confirmed"]),
                    int(head["n_overlap"]),
                    *decided,
                )
            )
        return out

    def submission(self, request_id: str, reviewer: str | None = None) -> Submission | None:
        found = self._reviews(request_id, reviewer, newest_only=True)
        return found[0] if found else None

    def reviews(self, request_id: str) -> list[Submission]:
        return self._reviews(request_id, None, newest_only=False)

    def count(self, request_id: str, reviewer: str | None = None) -> int:
        where, params = "request_id = ?", [request_id]
        if reviewer is not None:
            where += " AND reviewer = ?"
            params.append(reviewer)
        return int(self.db.scalar(f"SELECT COUNT(*) FROM feedback_submissions WHERE {where}", params) or 0)

    def replace(self, submission: Submission, scores: Sequence[Score] = ()) -> None:
        s = submission
        key = (s.request_id, s.reviewer)
        for table in ("feedback_submissions", "feedback", "prediction_scores"):
            self.db.execute(f"DELETE FROM {table} WHERE request_id = ? AND reviewer = ?", key)
        rows = [
            (s.request_id, skill_id, decision, s.reviewer, s.submitted_at, s.day, s.week)
            for skill_id, decision in s.decisions()
        ]
        if rows:
            self.db.executemany(
                "INSERT INTO feedback (request_id, skill_id, decision, reviewer, reviewed_at, "
                "day, week) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        self.db.execute(
            f"INSERT INTO feedback_submissions ({', '.join(SUBMISSION_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(SUBMISSION_COLUMNS))})",
            tuple(getattr(s, column) for column in SUBMISSION_COLUMNS),
        )
        self._insert_scores(scores)

    def replace_scores(self, request_id: str, model_version: str | None, scores: Sequence[Score]) -> None:
        self.db.execute(
            "DELETE FROM prediction_scores WHERE request_id = ? AND model_version = ?",
            (request_id, model_version),
        )
        self._insert_scores(scores)

    def _insert_scores(self, scores: Sequence[Score]) -> None:
        if scores:
            self.db.executemany(
                f"INSERT INTO prediction_scores ({', '.join(SCORE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(SCORE_COLUMNS))})",
                [tuple(getattr(score, column) for column in SCORE_COLUMNS) for score in scores],
            )

    def confirmed(self, request_ids: Sequence[str]) -> dict[str, set[str]]:
        if not request_ids:
            return {}
        marks = ", ".join("?" * len(request_ids))
        votes = self.db.query(
            f"SELECT request_id, skill_id, COUNT(*) AS n FROM feedback WHERE request_id IN ({marks}) "
            f"AND decision IN ('{ACCEPTED}', '{ADDED}') GROUP BY request_id, skill_id",
            list(request_ids),
        )
        reviewed = self.db.query(
            f"SELECT request_id, COUNT(*) AS n FROM feedback_submissions "
            f"WHERE request_id IN ({marks}) GROUP BY request_id",
            list(request_ids),
        )
        by_request: dict[str, dict[str, int]] = {row["request_id"]: {} for row in reviewed}
        for row in votes:
            by_request.setdefault(row["request_id"], {})[row["skill_id"]] = int(row["n"])
        n_reviews = {row["request_id"]: int(row["n"]) for row in reviewed}
        return {
            request_id: majority(skills, n_reviews.get(request_id, 1))
            for request_id, skills in by_request.items()
        }
