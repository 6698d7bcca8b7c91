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

from mlops.adapters.warehouse.base import WarehouseError
from mlops.adapters.warehouse.feedback import ACCEPTED, ADDED, DECISIONS, REJECTED, Submission
from mlops.adapters.warehouse.predictions import LoggedSkill
from mlops.adapters.warehouse.repositories import Repositories, Source, repositories
from mlops.domain.clock import day_of, timestamp, utc, week_of
from mlops.services import audit
from mlops.services.identity import User, require_role
from mlops.services.monitoring import request_metrics

__all__ = ["ACCEPTED", "ADDED", "DECISIONS", "REJECTED", "FeedbackError", "get_prediction",
           "next_unreviewed", "submit_feedback"]

log = logging.getLogger(__name__)

OK_STATUS = "ok"
#: Submissions of a request are replaced under this table's write lock.
LOCK = "feedback_submissions"


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


def _predicted_skills(repos: Repositories, request_id: str) -> list[LoggedSkill]:
    """The request's predicted skills, best rank first, one per skill id."""
    seen: set[str] = set()
    unique = []
    for skill in repos.predictions.skills(request_id):
        if skill.skill_id not in seen:
            seen.add(skill.skill_id)
            unique.append(skill)
    return unique


def _feedback(submission: Submission | None) -> dict[str, Any] | None:
    if submission is None:
        return None
    return {"reviewer": submission.reviewer, "model_version": submission.model_version,
            "submitted_at": submission.submitted_at, "n_predicted": submission.n_predicted,
            "n_confirmed": submission.n_confirmed, "n_overlap": submission.n_overlap,
            **{decision: list(getattr(submission, decision)) for decision in DECISIONS}}


def get_prediction(warehouse: Source, request_id: str) -> dict[str, Any] | None:
    """A logged prediction with its `skills` (best rank first) and its current `feedback`
    (None when unreviewed); None when the request id is unknown."""
    repos = repositories(warehouse)
    request = repos.predictions.latest(request_id)
    if request is None:
        return None
    return {**request.to_dict(),
            "skills": [skill.to_dict() for skill in _predicted_skills(repos, request_id)],
            "feedback": _feedback(repos.feedback.submission(request_id))}


def next_unreviewed(warehouse: Source, stage: str | None = None) -> dict[str, Any] | None:
    """The oldest successful prediction nobody has reviewed yet (optionally of one stage), with
    its `skills`; None when the queue is empty."""
    request_id = repositories(warehouse).predictions.oldest_unreviewed(OK_STATUS, stage)
    return None if request_id is None else get_prediction(warehouse, request_id)


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


def _submission(request_id: str, reviewer: str, model_version: str | None, moment: datetime,
                predicted: set[str], accepted: list[str], rejected: list[str],
                added: list[str]) -> Submission:
    """The submission of checked decisions: an "added" skill the model predicted counts as
    accepted; the counts are |predicted|, |confirmed| and their overlap."""
    accepted = accepted + [s for s in added if s in predicted and s not in accepted]
    added = [s for s in added if s not in predicted]
    confirmed = set(accepted) | set(added)
    return Submission(request_id, reviewer, model_version, timestamp(moment), day_of(moment),
                      week_of(moment), len(predicted), len(confirmed), len(predicted & confirmed),
                      tuple(accepted), tuple(rejected), tuple(added))


def _summary(submission: Submission, replaced: bool) -> dict[str, Any]:
    """What `submit_feedback` returns for a stored submission."""
    s = submission
    counts = (s.n_predicted, s.n_confirmed, s.n_overlap)
    return {"request_id": s.request_id, "model_version": s.model_version, "reviewer": s.reviewer,
            "submitted_at": s.submitted_at, "n_predicted": counts[0], "n_confirmed": counts[1],
            "n_overlap": counts[2], **{d: list(getattr(s, d)) for d in DECISIONS},
            "replaced": replaced, **request_metrics(*counts)}


def submit_feedback(warehouse: Source, taxonomy: Any, user: User | None, request_id: str,
                    accepted: Iterable[str] | None, rejected: Iterable[str] | None,
                    added: Iterable[str] | None, now: datetime | None = None) -> dict[str, Any]:
    """Record a reviewer's decisions on one prediction, replacing any earlier submission.

    Returns a summary: request_id, model_version, reviewer, submitted_at, n_predicted,
    n_confirmed, n_overlap, the request's metrics, and `replaced` (an earlier submission existed).
    Raises PermissionDenied without the reviewer role and FeedbackError when refused (unknown
    request, skill not in the taxonomy, contradictory or foreign decisions, no decision) or when
    the warehouse fails (then nothing is saved).
    """
    reviewer = require_role(user, "reviewer", action="submit feedback", source=warehouse).username
    if not isinstance(request_id, str) or not request_id.strip():
        raise FeedbackError("a request id is needed to submit feedback")
    accepted_ids, rejected_ids = _ids(ACCEPTED, accepted), _ids(REJECTED, rejected)
    added_ids = _ids(ADDED, added)
    moment = utc(now)
    try:
        with repositories(warehouse).transaction(LOCK) as tx:
            request = tx.predictions.latest(request_id)
            if request is None:
                raise FeedbackError(f"unknown request {request_id}: nothing to review")
            if request.status != OK_STATUS:
                raise FeedbackError(f"request {request_id} failed ({request.status}): "
                                    "there is no prediction to review")
            predicted = {skill.skill_id for skill in _predicted_skills(tx, request_id)}
            _check_decisions(taxonomy, predicted, accepted_ids, rejected_ids, added_ids)
            submission = _submission(request_id, reviewer, request.model_version, moment,
                                     predicted, accepted_ids, rejected_ids, added_ids)
            replaced = tx.feedback.count(request_id) > 0
            tx.feedback.replace(submission)
            summary = _summary(submission, replaced)
            audit.record(tx, reviewer, "feedback.submit", request_id, {
                k: summary[k] for k in ("model_version", "n_predicted", "n_confirmed", "n_overlap",
                                        ACCEPTED, REJECTED, ADDED, "replaced")})
    except WarehouseError as exc:
        log.error("feedback for request %s not saved: %s", request_id, exc)
        raise FeedbackError(f"could not save the feedback for request {request_id}: the warehouse "
                            "failed, nothing was saved, please retry") from exc
    return summary
