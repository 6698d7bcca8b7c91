"""Reviewer feedback: the confirmed skill set of a prediction (accepted + added) is the ground
truth of its text, rejected predicted skills are kept as negatives.

Ground truth belongs to the text (the request id, a stable hash of it): every reviewer's review
of a text is kept, one per reviewer. A reviewer submitting again (double click, retry, change
of mind, the same text served by a newer version) replaces their own review, in one transaction
with its audit event, so the warehouse never holds half a review or two of one reviewer. Besides
one `feedback` row per decided skill, each review writes one `feedback_submissions` row with
|predicted|, |confirmed| and their overlap for the prediction the reviewer saw.

Monitoring compares every prediction of a text, one per model version, with every review of
it: `prediction_scores` holds the counts of each (prediction, review) pair, written when the
review is submitted (for the predictions logged so far) and when a prediction is logged (for the
reviews so far, `score_prediction`), both under the same lock (`LOCK`). So quality is a cheap SQL
aggregate (see `mlops.services.monitoring`).

A predicted skill the reviewer neither accepts nor rejects is not confirmed (it counts against
precision) but is not a training negative either. A skill "added" that the model had predicted
is recorded as accepted. A request with no predicted skills may be submitted with nothing
added: that confirms "no skills apply".

The review queue (`next_unreviewed`) serves the predictions of texts nobody has reviewed yet,
least sure first: the prediction whose lowest-confidence suggestion is lowest. Every suggestion
of a served output set is at or above the model's output threshold, so that suggestion is the
one nearest the threshold, the decision the model is least sure of and a review teaches most.
(A rule with a learned acceptance model, `sea_core.acceptance`, may keep a suggestion below the
threshold; its lowest-confidence suggestion is still the least sure one the queue can see, as
the log keeps confidences, not acceptance probabilities.)
Predictions without suggestions come after those with; ties and the `oldest` order go by the
time the prediction was logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from mlops.adapters.warehouse.base import WarehouseError
from mlops.adapters.warehouse.feedback import (
    ACCEPTED,
    ADDED,
    CONFIRMING,
    DECISIONS,
    REJECTED,
    Score,
    Submission,
)
from mlops.adapters.warehouse.predictions import LEAST_SURE, OLDEST, QUEUE_ORDERS, LoggedRequest, LoggedSkill
from mlops.adapters.warehouse.repositories import Repositories, Source, repositories
from mlops.domain.clock import day_of, timestamp, utc, week_of
from mlops.services import audit
from mlops.services.identity import User, require_role
from mlops.services.monitoring import request_metrics

__all__ = [
    "ACCEPTED",
    "ADDED",
    "DECISIONS",
    "LEAST_SURE",
    "OLDEST",
    "QUEUE_ORDERS",
    "REJECTED",
    "FeedbackError",
    "get_prediction",
    "next_unreviewed",
    "score_prediction",
    "submit_feedback",
]

log = logging.getLogger(__name__)

OK_STATUS = "ok"
#: Reviews and scores are written under this table's write lock (submissions and prediction logs).
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


def _predicted_skills(repos: Repositories, request: LoggedRequest) -> list[LoggedSkill]:
    """The prediction's skills, best rank first, one per skill id."""
    seen: set[str] = set()
    unique = []
    for skill in repos.predictions.skills(request.request_id, request.model_version):
        if skill.skill_id not in seen:
            seen.add(skill.skill_id)
            unique.append(skill)
    return unique


def _feedback(submission: Submission | None) -> dict[str, Any] | None:
    if submission is None:
        return None
    return {
        "reviewer": submission.reviewer,
        "model_version": submission.model_version,
        "submitted_at": submission.submitted_at,
        "n_predicted": submission.n_predicted,
        "n_confirmed": submission.n_confirmed,
        "n_overlap": submission.n_overlap,
        **{decision: list(getattr(submission, decision)) for decision in DECISIONS},
    }


def get_prediction(
    warehouse: Source, request_id: str, model_version: str | None = None
) -> dict[str, Any] | None:
    """The newest logged prediction of a request id (of `model_version` when given) with its
    `skills` (best rank first), the text's newest review as `feedback` (None when unreviewed)
    and `n_reviews`; None when there is no such prediction."""
    repos = repositories(warehouse)
    request = repos.predictions.latest(request_id, model_version)
    if request is None:
        return None
    return {
        **request.to_dict(),
        "skills": [skill.to_dict() for skill in _predicted_skills(repos, request)],
        "feedback": _feedback(repos.feedback.submission(request_id)),
        "n_reviews": repos.feedback.count(request_id),
    }


def next_unreviewed(
    warehouse: Source, stage: str | None = None, order: str = LEAST_SURE
) -> dict[str, Any] | None:
    """The next successful prediction of a text nobody has reviewed yet (optionally of one
    stage), as `get_prediction` gives it; None when the queue is empty. `order`: LEAST_SURE
    (default: the rule of the module docstring) or OLDEST (first logged first)."""
    if order not in QUEUE_ORDERS:
        raise ValueError(f"order must be one of {', '.join(QUEUE_ORDERS)}, got {order!r}")
    found = repositories(warehouse).predictions.unreviewed(OK_STATUS, stage, order)
    return None if found is None else get_prediction(warehouse, *found)


def _confirmed(review: Submission) -> set[str]:
    return {skill_id for skill_id, decision in review.decisions() if decision in CONFIRMING}


def _score(request: LoggedRequest, predicted: set[str], review: Submission) -> Score:
    """One prediction against one review, dated by the later of the two."""
    if request.created_at > review.submitted_at:
        stamp, day, week = request.created_at, request.day, request.week
    else:
        stamp, day, week = review.submitted_at, review.day, review.week
    confirmed = _confirmed(review)
    return Score(
        request.request_id,
        request.model_version,
        review.reviewer,
        stamp,
        day,
        week,
        len(predicted),
        len(confirmed),
        len(predicted & confirmed),
    )


def score_prediction(repos: Repositories, request: LoggedRequest, skills: Sequence[LoggedSkill]) -> int:
    """Score a logged prediction against every review of its text, in place of its earlier
    scores (inside the caller's transaction, which holds `LOCK`); a failed request gets none.
    Returns the number of scores."""
    reviews = repos.feedback.reviews(request.request_id) if request.status == OK_STATUS else []
    predicted = {skill.skill_id for skill in skills}
    scores = [_score(request, predicted, review) for review in reviews]
    repos.feedback.replace_scores(request.request_id, request.model_version, scores)
    return len(scores)


def _review_scores(repos: Repositories, review: Submission) -> list[Score]:
    """Every successful prediction of the review's text (one per model version) against it."""
    scores = []
    for version in repos.predictions.versions(review.request_id):
        request = repos.predictions.latest(review.request_id, version)
        if request is not None and request.status == OK_STATUS:
            predicted = {skill.skill_id for skill in _predicted_skills(repos, request)}
            scores.append(_score(request, predicted, review))
    return scores


def _check_decisions(
    taxonomy: Any, predicted: set[str], accepted: list[str], rejected: list[str], added: list[str]
) -> None:
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
            raise FeedbackError(
                f"{name} skill(s) were not predicted for this request "
                f"(add them instead): {', '.join(foreign)}"
            )
    if predicted and not (accepted or rejected or added):
        raise FeedbackError("no decision: accept, reject or add at least one skill before submitting")


def _submission(
    request_id: str,
    reviewer: str,
    model_version: str | None,
    moment: datetime,
    predicted: set[str],
    accepted: list[str],
    rejected: list[str],
    added: list[str],
) -> Submission:
    """The submission of checked decisions: an "added" skill the model predicted counts as
    accepted; the counts are |predicted|, |confirmed| and their overlap."""
    accepted = accepted + [s for s in added if s in predicted and s not in accepted]
    added = [s for s in added if s not in predicted]
    confirmed = set(accepted) | set(added)
    return Submission(
        request_id,
        reviewer,
        model_version,
        timestamp(moment),
        day_of(moment),
        week_of(moment),
        len(predicted),
        len(confirmed),
        len(predicted & confirmed),
        tuple(accepted),
        tuple(rejected),
        tuple(added),
    )


def _summary(submission: Submission, replaced: bool) -> dict[str, Any]:
    """What `submit_feedback` returns for a stored submission."""
    s = submission
    counts = (s.n_predicted, s.n_confirmed, s.n_overlap)
    return {
        "request_id": s.request_id,
        "model_version": s.model_version,
        "reviewer": s.reviewer,
        "submitted_at": s.submitted_at,
        "n_predicted": counts[0],
        "n_confirmed": counts[1],
        "n_overlap": counts[2],
        **{d: list(getattr(s, d)) for d in DECISIONS},
        "replaced": replaced,
        **request_metrics(*counts),
    }


def submit_feedback(
    warehouse: Source,
    taxonomy: Any,
    user: User | None,
    request_id: str,
    accepted: Iterable[str] | None,
    rejected: Iterable[str] | None,
    added: Iterable[str] | None,
    now: datetime | None = None,
    model_version: str | None = None,
) -> dict[str, Any]:
    """Record a reviewer's decisions on one prediction (of `model_version`; default the
    newest prediction of the request id), replacing the same reviewer's earlier review of the
    text; other reviewers' reviews stay. Scores every prediction of the text against it.

    Returns a summary: request_id, model_version, reviewer, submitted_at, n_predicted,
    n_confirmed, n_overlap, the request's metrics, and `replaced` (the reviewer had reviewed
    the text before). Raises PermissionDenied without the reviewer role and FeedbackError when
    refused (unknown request, skill not in the taxonomy, contradictory or foreign decisions, no
    decision) or when the warehouse fails (then nothing is saved).
    """
    reviewer = require_role(user, "reviewer", action="submit feedback", source=warehouse).username
    if not isinstance(request_id, str) or not request_id.strip():
        raise FeedbackError("a request id is needed to submit feedback")
    accepted_ids, rejected_ids = _ids(ACCEPTED, accepted), _ids(REJECTED, rejected)
    added_ids = _ids(ADDED, added)
    moment = utc(now)
    try:
        with repositories(warehouse).transaction(LOCK) as tx:
            request = tx.predictions.latest(request_id, model_version)
            if request is None:
                of = "" if model_version is None else f" by model {model_version}"
                raise FeedbackError(f"unknown request {request_id}{of}: nothing to review")
            if request.status != OK_STATUS:
                raise FeedbackError(
                    f"request {request_id} failed ({request.status}): there is no prediction to review"
                )
            predicted = {skill.skill_id for skill in _predicted_skills(tx, request)}
            _check_decisions(taxonomy, predicted, accepted_ids, rejected_ids, added_ids)
            submission = _submission(
                request_id,
                reviewer,
                request.model_version,
                moment,
                predicted,
                accepted_ids,
                rejected_ids,
                added_ids,
            )
            replaced = tx.feedback.count(request_id, reviewer) > 0
            tx.feedback.replace(submission, _review_scores(tx, submission))
            summary = _summary(submission, replaced)
            audit.record(
                tx,
                reviewer,
                "feedback.submit",
                request_id,
                {
                    k: summary[k]
                    for k in (
                        "model_version",
                        "n_predicted",
                        "n_confirmed",
                        "n_overlap",
                        ACCEPTED,
                        REJECTED,
                        ADDED,
                        "replaced",
                    )
                },
            )
    except WarehouseError as exc:
        log.error("feedback for request %s not saved: %s", request_id, exc)
        raise FeedbackError(
            f"could not save the feedback for request {request_id}: the warehouse "
            "failed, nothing was saved, please retry"
        ) from exc
    return summary
