"""The predictions' repository: one row per logged request (`prediction_requests`) and one per
predicted skill (`prediction_skills`). A request id is a stable hash of the input, so the same
text logged again replaces its rows."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from mlops.adapters.warehouse.base import Session

REQUEST_FIELDS = ("request_id", "model_version", "stage", "created_at", "day", "week",
                  "original_input", "input_chars", "latency_ms", "status", "error")
SKILL_FIELDS = ("rank", "skill_id", "skill_title", "skill_type", "confidence", "phrase",
                "occurrence", "tags", "proficiency_level")
# Column limits (bytes, as Redshift counts them): longer values are cut, never refused.
LIMITS = {"original_input": 65535, "error": 65535, "skill_title": 1024, "phrase": 4096,
          "tags": 65535, "skill_type": 64, "model_version": 64, "stage": 16,
          "proficiency_level": 64, "skill_id": 256, "request_id": 256}


@dataclass(frozen=True)
class LoggedRequest:
    """One logged request (`created_at` a timestamp, `day`/`week` beside it)."""

    request_id: str
    model_version: str
    stage: str
    created_at: str
    day: str
    week: str
    original_input: str
    input_chars: int
    latency_ms: float | None
    status: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The request as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class LoggedSkill:
    """One predicted skill of a logged request (`tags` as stored: JSON text)."""

    rank: int
    skill_id: str
    skill_title: str | None
    skill_type: str | None
    confidence: float | None
    phrase: str | None
    occurrence: int | None
    tags: str
    proficiency_level: str | None

    def to_dict(self) -> dict[str, Any]:
        """The skill as a plain dict."""
        return asdict(self)


def clip(name: str, value: Any) -> Any:
    """`value` cut to its column's limit (in UTF-8 bytes, never mid-character)."""
    limit = LIMITS.get(name)
    if limit is None or not isinstance(value, str):
        return value
    data = value.encode("utf-8")
    return value if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


class PredictionRepository(ABC):
    """Where logged predictions are stored."""

    @abstractmethod
    def replace(self, request: LoggedRequest, skills: Sequence[LoggedSkill]) -> None:
        """Store a request and its skills in place of any earlier rows of its request id
        (call inside a transaction); over-long texts are cut to their column's limit."""

    @abstractmethod
    def latest(self, request_id: str) -> LoggedRequest | None:
        """The newest logged request with this id, or None."""

    @abstractmethod
    def skills(self, request_id: str) -> list[LoggedSkill]:
        """Every predicted skill row of the request id, by rank then skill id."""

    @abstractmethod
    def oldest_unreviewed(self, status: str, stage: str | None = None) -> str | None:
        """The id of the oldest request of `status` (and `stage`) without a feedback
        submission (by `created_at`, then request id); None when there is none."""

    @abstractmethod
    def recent_texts(self, limit: int, status: str, reviewed_only: bool = False) -> list[dict[str, Any]]:
        """The newest distinct request ids of `status` with `created_at` and `text` (newest
        first, then by request id); with `reviewed_only`, only those with a submission."""


def _request(row: dict[str, Any]) -> LoggedRequest:
    return LoggedRequest(**{name: row[name] for name in REQUEST_FIELDS})


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class SqlPredictionRepository(PredictionRepository):
    """`prediction_requests` and `prediction_skills`."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def replace(self, request: LoggedRequest, skills: Sequence[LoggedSkill]) -> None:
        request_id = clip("request_id", request.request_id)
        self.db.execute("DELETE FROM prediction_skills WHERE request_id = ?", (request_id,))
        self.db.execute("DELETE FROM prediction_requests WHERE request_id = ?", (request_id,))
        values = asdict(request)
        self.db.execute(
            f"INSERT INTO prediction_requests ({', '.join(REQUEST_FIELDS)}) "
            f"VALUES ({_marks(len(REQUEST_FIELDS))})",
            tuple(clip(name, values[name]) for name in REQUEST_FIELDS))
        if skills:
            rows = [(request_id, *(clip(name, value) for name, value in asdict(skill).items()))
                    for skill in skills]
            self.db.executemany(
                f"INSERT INTO prediction_skills (request_id, {', '.join(SKILL_FIELDS)}) "
                f"VALUES ({_marks(len(SKILL_FIELDS) + 1)})", rows)

    def latest(self, request_id: str) -> LoggedRequest | None:
        row = self.db.query_one(
            f"SELECT {', '.join(REQUEST_FIELDS)} FROM prediction_requests WHERE request_id = ? "
            "ORDER BY created_at DESC LIMIT 1", (request_id,))
        return None if row is None else _request(row)

    def skills(self, request_id: str) -> list[LoggedSkill]:
        rows = self.db.query(
            f"SELECT {', '.join(SKILL_FIELDS)} FROM prediction_skills WHERE request_id = ? "
            "ORDER BY rank, skill_id", (request_id,))
        return [LoggedSkill(**row) for row in rows]

    def oldest_unreviewed(self, status: str, stage: str | None = None) -> str | None:
        where = ["r.status = ?", "NOT EXISTS (SELECT 1 FROM feedback_submissions s "
                                 "WHERE s.request_id = r.request_id)"]
        params: list[Any] = [status]
        if stage is not None:
            where.append("r.stage = ?")
            params.append(stage)
        row = self.db.query_one(
            f"SELECT r.request_id FROM prediction_requests r WHERE {' AND '.join(where)} "
            "ORDER BY r.created_at, r.request_id LIMIT 1", params)
        return None if row is None else row["request_id"]

    def recent_texts(self, limit: int, status: str, reviewed_only: bool = False) -> list[dict[str, Any]]:
        where = "r.status = ?"
        if reviewed_only:
            where += " AND EXISTS (SELECT 1 FROM feedback_submissions s WHERE s.request_id = r.request_id)"
        return self.db.query(
            "SELECT r.request_id, MAX(r.created_at) AS created_at, MAX(r.original_input) AS text "
            f"FROM prediction_requests r WHERE {where} GROUP BY r.request_id "
            "ORDER BY MAX(r.created_at) DESC, r.request_id LIMIT ?", (status, limit))
