"""Reviewer feedback: the confirmed skill set of a prediction (accepted + added) is the ground
truth, rejected predicted skills are kept as negatives.

One submission per request: submitting again (double click, retry, change of mind) replaces
the earlier one, in one transaction with its audit event, so the warehouse never holds half a
submission or two. Besides one `feedback` row per decided skill, each submission writes one
`feedback_submissions` row with |predicted|, |confirmed| and their overlap, so quality metrics
are a cheap SQL aggregate (see `mlops.services.monitoring`).

A predicted skill the reviewer neither accepts nor rejects is not confirmed (it counts against
precision) but is not a training negative either. A skill "added" that the model had predicted
is recorded as accepted. A request with no predicted skills may be submitted with nothing
added: that confirms "no skills apply".
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Iterable

from mlops.adapters.warehouse.base import Session, Warehouse, WarehouseError
from mlops.services import audit
from mlops.domain.clock import day_of, timestamp, utc, week_of
from mlops.services.identity import User, require_role
from mlops.services.monitoring import request_metrics

log = logging.getLogger(__name__)

ACCEPTED, REJECTED, ADDED = "accepted", "rejected", "added"
DECISIONS = (ACCEPTED, REJECTED, ADDED)
OK_STATUS = "ok"


class FeedbackError(ValueError):
    """Feedback was refused or could not be saved; the message is meant for the reviewer."""


def _ids(name: str, values: Iterable[str] | None) -> list[str]:
    """Distinct skill ids in their given order; FeedbackError for anything but non-empty strings."""
    if values is None:
        return []
    if isinstance(values, str):
        raise FeedbackError(f"{name} must be a list of skill ids, not a single string")
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise FeedbackError(f"{name} contains an invalid skill id: {value!r}")
        if value not in out:
            out.append(value)
    return out


def _latest_request(session: Session, request_id: str) -> dict[str, Any] | None:
    return session.query_one(
        "SELECT request_id, model_version, stage, created_at, original_input, input_chars, "
        "latency_ms, status, error FROM prediction_requests WHERE request_id = ? "
        "ORDER BY created_at DESC LIMIT 1", (request_id,))


def _predicted_skills(session: Session, request_id: str) -> list[dict[str, Any]]:
    """The request's predicted skills, best rank first, one row per skill id."""
    rows = session.query(
        "SELECT rank, skill_id, skill_title, skill_type, confidence, phrase, occurrence, tags, "
        "proficiency_level FROM prediction_skills WHERE request_id = ? ORDER BY rank, skill_id",
        (request_id,))
    seen: set[str] = set()
    unique = []
    for row in rows:
        if row["skill_id"] not in seen:
            seen.add(row["skill_id"])
            unique.append(row)
    return unique


def _submission(session: Session, request_id: str) -> dict[str, Any] | None:
    head = session.query_one(
        "SELECT reviewer, model_version, submitted_at, n_predicted, n_confirmed, n_overlap "
        "FROM feedback_submissions WHERE request_id = ? ORDER BY submitted_at DESC LIMIT 1",
        (request_id,))
    if head is None:
        return None
    rows = session.query("SELECT skill_id, decision FROM feedback WHERE request_id = ? "
                         "ORDER BY skill_id", (request_id,))
    for decision in DECISIONS:
        head[decision] = [r["skill_id"] for r in rows if r["decision"] == decision]
    return head


def get_prediction(warehouse: Session, request_id: str) -> dict[str, Any] | None:
    """A logged prediction with its `skills` (best rank first) and its current `feedback`
    (None when unreviewed); None when the request id is unknown."""
    request = _latest_request(warehouse, request_id)
    if request is None:
        return None
    request["skills"] = _predicted_skills(warehouse, request_id)
    request["feedback"] = _submission(warehouse, request_id)
    return request


def next_unreviewed(warehouse: Session, stage: str | None = None) -> dict[str, Any] | None:
    """The oldest successful prediction nobody has reviewed yet (optionally of one stage), with
    its `skills`; None when the queue is empty."""
    where = ["r.status = ?", "NOT EXISTS (SELECT 1 FROM feedback_submissions s "
                             "WHERE s.request_id = r.request_id)"]
    params: list[Any] = [OK_STATUS]
    if stage is not None:
        where.append("r.stage = ?")
        params.append(stage)
    row = warehouse.query_one(
        f"SELECT r.request_id FROM prediction_requests r WHERE {' AND '.join(where)} "
        "ORDER BY r.created_at, r.request_id LIMIT 1", params)
    return None if row is None else get_prediction(warehouse, row["request_id"])


def _lock(session: Session, warehouse: Warehouse, table: str) -> None:
    """Serialise writers of `table` (SQLite's BEGIN IMMEDIATE already does)."""
    if warehouse.dialect != "sqlite":
        session.execute(f"LOCK {table}")


def _check_decisions(taxonomy: Any, predicted: set[str], accepted: list[str], rejected: list[str],
                     added: list[str]) -> None:
    for name, ids in ((ACCEPTED, accepted), (REJECTED, rejected), (ADDED, added)):
        unknown = [s for s in ids if s not in taxonomy]
        if unknown:
            raise FeedbackError(f"{name} skill(s) not in the taxonomy: {', '.join(unknown)}")
    both = sorted(set(accepted) & set(rejected))
    if both:
        raise FeedbackError(f"skill(s) both accepted and rejected: {', '.join(both)}")
    both = sorted(set(added) & set(rejected))
    if both:
        raise FeedbackError(f"skill(s) both added and rejected: {', '.join(both)}")
    for name, ids in ((ACCEPTED, accepted), (REJECTED, rejected)):
        foreign = [s for s in ids if s not in predicted]
        if foreign:
            raise FeedbackError(f"{name} skill(s) were not predicted for this request "
                                f"(add them instead): {', '.join(foreign)}")
    if predicted and not (accepted or rejected or added):
        raise FeedbackError("no decision: accept, reject or add at least one skill before submitting")


def submit_feedback(warehouse: Warehouse, taxonomy: Any, user: User | None, request_id: str,
                    accepted: Iterable[str] | None, rejected: Iterable[str] | None,
                    added: Iterable[str] | None, now: datetime | None = None) -> dict[str, Any]:
    """Record a reviewer's decisions on one prediction, replacing any earlier submission.

    Returns a summary: request_id, model_version, reviewer, submitted_at, n_predicted,
    n_confirmed, n_overlap, the request's metrics, and `replaced` (an earlier submission existed).
    Raises PermissionDenied without the reviewer role and FeedbackError when refused (unknown
    request, skill not in the taxonomy, contradictory or foreign decisions, no decision) or when
    the warehouse fails (then nothing is saved).
    """
    reviewer = require_role(user, "reviewer", action="submit feedback").username
    if not isinstance(request_id, str) or not request_id.strip():
        raise FeedbackError("a request id is needed to submit feedback")
    accepted_ids, rejected_ids = _ids(ACCEPTED, accepted), _ids(REJECTED, rejected)
    added_ids = _ids(ADDED, added)
    moment = utc(now)
    submitted_at, day, week = timestamp(moment), day_of(moment), week_of(moment)
    try:
        with warehouse.transaction() as session:
            _lock(session, warehouse, "feedback_submissions")
            request = _latest_request(session, request_id)
            if request is None:
                raise FeedbackError(f"unknown request {request_id}: nothing to review")
            if request["status"] != OK_STATUS:
                raise FeedbackError(f"request {request_id} failed ({request['status']}): "
                                    "there is no prediction to review")
            predicted = {row["skill_id"] for row in _predicted_skills(session, request_id)}
            _check_decisions(taxonomy, predicted, accepted_ids, rejected_ids, added_ids)
            # an "added" skill the model predicted is an accepted one
            accepted_ids += [s for s in added_ids if s in predicted and s not in accepted_ids]
            added_ids = [s for s in added_ids if s not in predicted]
            confirmed = set(accepted_ids) | set(added_ids)
            counts = (len(predicted), len(confirmed), len(predicted & confirmed))

            replaced = int(session.scalar("SELECT COUNT(*) FROM feedback_submissions "
                                          "WHERE request_id = ?", (request_id,)) or 0)
            session.execute("DELETE FROM feedback_submissions WHERE request_id = ?", (request_id,))
            session.execute("DELETE FROM feedback WHERE request_id = ?", (request_id,))
            rows = [(request_id, skill_id, decision, reviewer, submitted_at, day, week)
                    for decision, ids in ((ACCEPTED, accepted_ids), (REJECTED, rejected_ids),
                                          (ADDED, added_ids))
                    for skill_id in ids]
            if rows:
                session.executemany(
                    "INSERT INTO feedback (request_id, skill_id, decision, reviewer, reviewed_at, "
                    "day, week) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            session.execute(
                "INSERT INTO feedback_submissions (request_id, reviewer, model_version, submitted_at, "
                "day, week, n_predicted, n_confirmed, n_overlap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (request_id, reviewer, request["model_version"], submitted_at, day, week, *counts))
            summary = {
                "request_id": request_id, "model_version": request["model_version"],
                "reviewer": reviewer, "submitted_at": submitted_at,
                "n_predicted": counts[0], "n_confirmed": counts[1], "n_overlap": counts[2],
                ACCEPTED: accepted_ids, REJECTED: rejected_ids, ADDED: added_ids,
                "replaced": replaced > 0, **request_metrics(*counts),
            }
            audit.record(session, reviewer, "feedback.submit", request_id, {
                k: summary[k] for k in ("model_version", "n_predicted", "n_confirmed", "n_overlap",
                                        ACCEPTED, REJECTED, ADDED, "replaced")})
    except WarehouseError as exc:
        log.error("feedback for request %s not saved: %s", request_id, exc)
        raise FeedbackError(f"could not save the feedback for request {request_id}: the warehouse "
                            "failed, nothing was saved, please retry") from exc
    return summary
