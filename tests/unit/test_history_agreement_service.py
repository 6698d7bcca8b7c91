"""History, agreement and the review queue over in-memory repositories (the SQL is tested in
tests/integration/test_history_agreement.py): happy path, refusals, edge and boundary cases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops.services import monitoring
from mlops.services.feedback import (
    OLDEST,
    FeedbackError,
    get_prediction,
    next_unreviewed,
    score_prediction,
    submit_feedback,
)
from mlops.services.identity import User
from tests.fakes import MemoryRepositories
from tests.unit.monitoring_rows import REVIEWER, T0, small_taxonomy
from tests.unit.service_fakes import served

TAX = small_taxonomy()
ROB = User("rob", frozenset({"reviewer"}))


@pytest.fixture
def repos():
    return MemoryRepositories()


def jaccards(repos) -> dict[str, tuple[int, float]]:
    return {
        r["model_version"]: (r["n_reviews"], round(r["jaccard"], 6))
        for r in monitoring.version_comparison(repos)
    }


# -- happy path ------------------------------------------------------------------------------------
def test_each_version_is_scored_against_each_review(repos):
    rid = served(repos, "text", "1.0.0", {"s0": 0.8, "s1": 0.6})
    served(repos, "text", "1.1.0", {"s0": 0.7}, at=T0 + timedelta(hours=1))
    submit_feedback(repos, TAX, REVIEWER, rid, ["s0"], [], [], now=T0 + timedelta(hours=2))
    submit_feedback(
        repos, TAX, ROB, rid, ["s0"], [], ["s1"], now=T0 + timedelta(hours=3), model_version="1.1.0"
    )
    # rita {s0}: 1.0.0 1/2, 1.1.0 1; rob {s0, s1}: 1.0.0 1, 1.1.0 1/2
    assert jaccards(repos) == {"1.0.0": (2, 0.75), "1.1.0": (2, 0.75)}
    assert repos.locks_taken.count(("feedback_submissions",)) == 4  # two logs, two reviews
    agreement = monitoring.reviewer_agreement(repos)
    assert (agreement.overall.n_pairs, agreement.overall.jaccard) == (1, 0.5)
    assert monitoring.reviewer_activity(repos).totals == {"rita": 1, "rob": 1}


def test_queue_least_sure_first_and_oldest_first(repos):
    served(repos, "sure", "1.0.0", {"s0": 0.9}, at=T0)
    served(repos, "unsure", "1.0.0", {"s1": 0.5, "s2": 0.95}, at=T0 + timedelta(hours=1))
    assert next_unreviewed(repos)["original_input"] == "unsure"
    assert next_unreviewed(repos, order=OLDEST)["original_input"] == "sure"


# -- negative path ---------------------------------------------------------------------------------
def test_unknown_version_and_unknown_order_are_refused(repos):
    rid = served(repos, "text", "1.0.0", {"s0": 0.8})
    with pytest.raises(FeedbackError, match="by model 2.0.0"):
        submit_feedback(repos, TAX, REVIEWER, rid, ["s0"], [], [], model_version="2.0.0")
    with pytest.raises(ValueError, match="order must be one of"):
        next_unreviewed(repos, order="newest")
    with pytest.raises(ValueError, match="order must be one of"):
        repos.predictions.unreviewed("ok", None, "newest")
    assert repos.feedback.count(rid) == 0 and jaccards(repos) == {}


# -- edge cases ------------------------------------------------------------------------------------
def test_nothing_reviewed_and_both_empty_sets_agree(repos):
    assert monitoring.reviewer_agreement(repos).overall.jaccard is None
    rid = served(repos, "no skills here", "1.0.0", {})
    assert next_unreviewed(repos)["request_id"] == rid  # without suggestions, still queued
    for user in (REVIEWER, ROB):
        submit_feedback(repos, TAX, user, rid, [], [], [], now=T0)
    assert monitoring.reviewer_agreement(repos).overall.jaccard == 1.0
    assert jaccards(repos) == {"1.0.0": (2, 1.0)}
    assert next_unreviewed(repos) is None


def test_a_failed_request_is_never_scored(repos):
    rid = served(repos, "text", "1.0.0", {"s0": 0.8})
    submit_feedback(repos, TAX, REVIEWER, rid, ["s0"], [], [], now=T0)
    served(repos, "text", "1.1.0", {}, at=T0 + timedelta(hours=1), status="error")
    assert jaccards(repos) == {"1.0.0": (1, 1.0)}
    failed = repos.predictions.latest(rid, "1.1.0")
    assert score_prediction(repos, failed, []) == 0


# -- boundary cases --------------------------------------------------------------------------------
def test_ground_truth_keeps_a_skill_confirmed_by_exactly_half_the_reviewers(repos):
    rid = served(repos, "text", "1.0.0", {"s0": 0.8, "s1": 0.6})
    submit_feedback(repos, TAX, REVIEWER, rid, ["s0", "s1"], [], [], now=T0)
    assert repos.feedback.confirmed([rid]) == {rid: {"s0", "s1"}}
    submit_feedback(repos, TAX, ROB, rid, ["s0"], ["s1"], [], now=T0)
    assert repos.feedback.confirmed([rid]) == {rid: {"s0", "s1"}}  # s1: 1 of 2
    assert get_prediction(repos, rid)["n_reviews"] == 2


def test_queue_ties_go_to_the_older_and_agreement_days_are_inclusive(repos):
    later = served(repos, "later", "1.0.0", {"s0": 0.6}, at=T0 + timedelta(minutes=1))
    first = served(repos, "first", "1.0.0", {"s0": 0.6}, at=T0)
    assert next_unreviewed(repos)["request_id"] == first
    submit_feedback(repos, TAX, REVIEWER, later, ["s0"], [], [], now=T0)
    submit_feedback(repos, TAX, ROB, later, ["s0"], [], [], now=T0 + timedelta(days=1))
    assert monitoring.reviewer_agreement(repos, start="2026-11-03", end="2026-11-03").overall.n_pairs == 1
    assert monitoring.reviewer_agreement(repos, end="2026-11-02").overall.n_pairs == 0
