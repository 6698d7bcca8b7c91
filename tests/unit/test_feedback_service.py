"""The feedback service over in-memory repositories: the stored submission, replacement,
refusals (nothing stored), the review queue; the SQL is tested in tests/integration."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops.services.feedback import FeedbackError, get_prediction, next_unreviewed, submit_feedback
from mlops.services.identity import PermissionDenied
from tests.fakes import MemoryRepositories
from tests.unit.monitoring_rows import ADMIN, REVIEWER, T0, small_taxonomy
from tests.unit.service_fakes import logged

TAX = small_taxonomy()


@pytest.fixture
def repos():
    return MemoryRepositories()


def test_submission_counts_decisions_and_is_audited_under_the_lock(repos):
    logged(repos, "r1", ["s0", "s1", "s2"], model_version="1.2.0")
    summary = submit_feedback(repos, TAX, REVIEWER, "r1", ["s0", "s1"], ["s2"], ["s5"], now=T0)
    sub = repos.feedback.submission("r1")
    assert (sub.n_predicted, sub.n_confirmed, sub.n_overlap) == (3, 3, 2)
    assert (sub.model_version, sub.submitted_at, sub.day, sub.week) == (
        "1.2.0",
        "2026-11-02T09:00:00.000Z",
        "2026-11-02",
        "2026-W45",
    )
    assert summary["jaccard"] == pytest.approx(0.5) and summary["replaced"] is False
    assert repos.locks_taken == [("feedback_submissions",)]
    [event] = repos.audit.events(action="feedback.submit")
    assert (event.actor, event.target, event.details["added"]) == ("rita", "r1", ["s5"])


def test_resubmitting_replaces_and_an_added_predicted_skill_is_accepted(repos):
    logged(repos, "r1", ["s0", "s1"])
    submit_feedback(repos, TAX, REVIEWER, "r1", ["s0"], ["s1"], [], now=T0)
    summary = submit_feedback(repos, TAX, REVIEWER, "r1", [], [], ["s1"], now=T0 + timedelta(minutes=1))
    assert summary["replaced"] is True and summary["accepted"] == ["s1"] and summary["added"] == []
    assert repos.feedback.submission("r1").decisions() == [("s1", "accepted")]


@pytest.mark.parametrize(
    "accepted, rejected, added, message",
    [
        (["s0"], ["s0"], [], "both accepted and rejected"),
        ([], ["s1"], ["s1"], "both added and rejected"),
        (["s3"], [], [], "not predicted"),
        (["nope"], [], [], "not in the taxonomy"),
        ([], [], [], "no decision"),
        ("s0", [], [], "not a single string"),
    ],
)
def test_refused_submissions_store_nothing(repos, accepted, rejected, added, message):
    logged(repos, "r1", ["s0", "s1"])
    with pytest.raises(FeedbackError, match=message):
        submit_feedback(repos, TAX, REVIEWER, "r1", accepted, rejected, added, now=T0)
    assert repos.feedback.submission("r1") is None and repos.audit.events() == []


def test_unknown_or_failed_requests_and_non_reviewers_are_refused(repos):
    logged(repos, "bad", [], status="error")
    with pytest.raises(FeedbackError, match="unknown request"):
        submit_feedback(repos, TAX, REVIEWER, "nope", [], [], ["s0"])
    with pytest.raises(FeedbackError, match="failed"):
        submit_feedback(repos, TAX, REVIEWER, "bad", [], [], ["s0"])
    with pytest.raises(PermissionDenied):
        submit_feedback(repos, TAX, ADMIN, "bad", [], [], ["s0"])


def test_review_queue_is_oldest_unreviewed_success_first(repos):
    logged(repos, "new", ["s0"], at=T0 + timedelta(hours=1))
    logged(repos, "old", ["s1"], at=T0)
    logged(repos, "uat", ["s2"], at=T0 - timedelta(hours=1), stage="uat")
    assert next_unreviewed(repos)["request_id"] == "uat"
    assert next_unreviewed(repos, stage="prod")["request_id"] == "old"
    submit_feedback(repos, TAX, REVIEWER, "old", ["s1"], [], [], now=T0)
    item = next_unreviewed(repos, stage="prod")
    assert item["request_id"] == "new" and [s["skill_id"] for s in item["skills"]] == ["s0"]
    assert get_prediction(repos, "old")["feedback"]["accepted"] == ["s1"]
    assert get_prediction(repos, "nope") is None
