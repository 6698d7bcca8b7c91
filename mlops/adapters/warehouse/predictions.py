"""The predictions' repository: one row per logged prediction (`prediction_requests`) and one per
predicted skill (`prediction_skills`). A prediction is identified by (request id, model
version): the request id is a stable hash of the input text, so the same text served again by
the same version replaces its rows, and served by another version is a second prediction."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mlops.adapters.warehouse.base import Session

REQUEST_FIELDS = (
    "request_id",
    "model_version",
    "stage",
    "created_at",
    "day",
    "week",
    "original_input",
    "input_chars",
    "latency_ms",
    "status",
    "error",
)
SKILL_FIELDS = (
    "rank",
    "skill_id",
    "skill_title",
    "skill_type",
    "confidence",
    "phrase",
    "occurrence",
    "tags",
    "proficiency_level",
)
# Column limits (bytes, as Redshift counts them): longer values are cut, never refused.
LIMITS = {
    "original_input": 65535,
    "error": 65535,
    "skill_title": 1024,
    "phrase": 4096,
    "tags": 65535,
    "skill_type": 64,
    "model_version": 64,
    "stage": 16,
    "proficiency_level": 64,
    "skill_id": 256,
    "request_id": 256,
}


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


#: Review queue orders (`PredictionRepository.unreviewed`).
LEAST_SURE, OLDEST = "least_sure", "oldest"
QUEUE_ORDERS = (LEAST_SURE, OLDEST)


def lowest_confidence(skills: Sequence[LoggedSkill]) -> float | None:
    """The lowest confidence among a prediction's skills (None without any): stored with the
    prediction, it orders the review queue (`PredictionRepository.unreviewed`)."""
    values = [float(s.confidence) for s in skills if s.confidence is not None]
    return min(values) if values else None


class PredictionRepository(ABC):
    """Where logged predictions are stored."""

    @abstractmethod
    def replace(self, request: LoggedRequest, skills: Sequence[LoggedSkill]) -> None:
        """Store a prediction and its skills in place of any earlier rows of its (request id,
        model version), with its `lowest_confidence` (call inside a transaction); over-long
        texts are cut to their column's limit."""

    @abstractmethod
    def latest(self, request_id: str, model_version: str | None = None) -> LoggedRequest | None:
        """The newest logged prediction of the request id (of `model_version` when given), or
        None."""

    @abstractmethod
    def versions(self, request_id: str) -> list[str]:
        """The model versions that predicted the request id, in version order."""

    @abstractmethod
    def skills(self, request_id: str, model_version: str) -> list[LoggedSkill]:
        """Every predicted skill row of one prediction, by rank then skill id."""

    @abstractmethod
    def unreviewed(
        self, status: str, stage: str | None = None, order: str = LEAST_SURE
    ) -> tuple[str, str] | None:
        """(request id, model version) of the first prediction of `status` (and `stage`) whose
        text has no review, or None. `order` LEAST_SURE: lowest `lowest_confidence` first,
        predictions without skills after those with; OLDEST: by `created_at`. Ties: older
        first, then request id, then model version."""

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
        key = (clip("request_id", request.request_id), clip("model_version", request.model_version))
        for table in ("prediction_skills", "prediction_requests"):
            self.db.execute(f"DELETE FROM {table} WHERE request_id = ? AND model_version = ?", key)
        values = asdict(request)
        self.db.execute(
            f"INSERT INTO prediction_requests ({', '.join(REQUEST_FIELDS)}, lowest_confidence) "
            f"VALUES ({_marks(len(REQUEST_FIELDS) + 1)})",
            (*(clip(name, values[name]) for name in REQUEST_FIELDS), lowest_confidence(skills)),
        )
        if skills:
            rows = [(*key, *(clip(name, value) for name, value in asdict(skill).items())) for skill in skills]
            self.db.executemany(
                f"INSERT INTO prediction_skills (request_id, model_version, {', '.join(SKILL_FIELDS)}) "
                f"VALUES ({_marks(len(SKILL_FIELDS) + 2)})",
                rows,
            )

    def latest(self, request_id: str, model_version: str | None = None) -> LoggedRequest | None:
        where, params = "request_id = ?", [request_id]
        if model_version is not None:
            where += " AND model_version = ?"
            params.append(model_version)
        row = self.db.query_one(
            f"SELECT {', '.join(REQUEST_FIELDS)} FROM prediction_requests WHERE {where} "
            "ORDER BY created_at DESC, model_version DESC LIMIT 1",
            params,
        )
        return None if row is None else _request(row)

    def versions(self, request_id: str) -> list[str]:
        rows = self.db.query(
            "SELECT DISTINCT model_version FROM prediction_requests "
            "WHERE request_id = ? ORDER BY model_version",
            (request_id,),
        )
        return [row["model_version"] for row in rows]

    def skills(self, request_id: str, model_version: str) -> list[LoggedSkill]:
        rows = self.db.query(
            f"SELECT {', '.join(SKILL_FIELDS)} FROM prediction_skills WHERE request_id = ? "
            "AND model_version = ? ORDER BY rank, skill_id",
            (request_id, model_version),
        )
        return [LoggedSkill(**row) for row in rows]

    def unreviewed(
        self, status: str, stage: str | None = None, order: str = LEAST_SURE
    ) -> tuple[str, str] | None:
        if order not in QUEUE_ORDERS:
            raise ValueError(f"order must be one of {', '.join(QUEUE_ORDERS)}, got {order!r}")
        where = [
            "r.status = ?",
            "NOT EXISTS (SELECT 1 FROM feedback_submissions s WHERE s.request_id = r.request_id)",
        ]
        params: list[Any] = [status]
        if stage is not None:
            where.append("r.stage = ?")
            params.append(stage)
        # NULLs sort first on SQLite and last on PostgreSQL/Redshift: the predictions without
        # skills are a second walk rather than a CASE, so each walk reads an index in order
        walks = (
            [
                ("r.lowest_confidence IS NOT NULL", "r.lowest_confidence, "),
                ("r.lowest_confidence IS NULL", ""),
            ]
            if order == LEAST_SURE
            else [(None, "")]
        )
        for condition, sort in walks:
            clauses = where + ([condition] if condition else [])
            row = self.db.query_one(
                f"SELECT r.request_id, r.model_version FROM prediction_requests r "
                f"WHERE {' AND '.join(clauses)} "
                f"ORDER BY {sort}r.created_at, r.request_id, r.model_version LIMIT 1",
                params,
            )
            if row is not None:
                return row["request_id"], row["model_version"]
        return None

    def recent_texts(self, limit: int, status: str, reviewed_only: bool = False) -> list[dict[str, Any]]:
        where = "r.status = ?"
        if reviewed_only:
            where += " AND EXISTS (SELECT 1 FROM feedback_submissions s WHERE s.request_id = r.request_id)"
        return self.db.query(
            "SELECT r.request_id, MAX(r.created_at) AS created_at, MAX(r.original_input) AS text "
            f"FROM prediction_requests r WHERE {where} GROUP BY r.request_id "
            "ORDER BY MAX(r.created_at) DESC, r.request_id LIMIT ?",
            (status, limit),
        )
