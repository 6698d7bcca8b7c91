"""History and agreement on SQLite and PostgreSQL driven as Redshift, through the prediction
log's writer and the feedback service: a prediction is (request id, model version), every
reviewer's review of a text is kept, monitoring scores each version against each review, the
reviewers' agreement and activity, and the review queue's two orders."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops.adapters.warehouse.repositories import repositories
from mlops.services import monitoring
from mlops.services.feedback import OLDEST, FeedbackError, get_prediction, next_unreviewed, submit_feedback
from mlops.services.identity import User
from sea_core.pipeline import request_id_for
from tests.unit.monitoring_rows import REVIEWER, T0, small_taxonomy
from tests.unit.service_fakes import served

TAX = small_taxonomy()
ROB = User("rob", frozenset({"reviewer"}))
RIA = User("ria", frozenset({"reviewer"}))


def by_version(wh) -> dict[str, tuple[int, float]]:
    return {
        r["model_version"]: (r["n_reviews"], round(r["jaccard"], 6))
        for r in monitoring.version_comparison(wh)
    }


# -- happy path ------------------------------------------------------------------------------------
def test_the_same_text_served_by_two_versions_is_two_predictions_each_scored(warehouse):
    text = "We need a data engineer who knows SQL."
    rid = served(warehouse, text, "1.0.0", {"s0": 0.8, "s3": 0.6})
    assert served(warehouse, text, "1.1.0", {"s0": 0.7, "s2": 0.5}, at=T0 + timedelta(hours=1)) == rid
    assert rid == request_id_for(text)  # the production log's stable hash of the text
    assert [s["skill_id"] for s in get_prediction(warehouse, rid, "1.0.0")["skills"]] == ["s0", "s3"]
    assert get_prediction(warehouse, rid)["model_version"] == "1.1.0"  # the newest by default
    submit_feedback(warehouse, TAX, REVIEWER, rid, ["s0"], ["s2"], ["s3"], now=T0 + timedelta(hours=2))
    assert by_version(warehouse) == {"1.0.0": (1, 1.0), "1.1.0": (1, round(1 / 3, 6))}
    # a version that serves the text after the review is scored against it when logged
    served(warehouse, text, "1.2.0", {"s3": 0.9}, at=T0 + timedelta(days=1))
    assert by_version(warehouse)["1.2.0"] == (1, 0.5)
    [row] = monitoring.quality_over_time(warehouse, model_version="1.2.0")
    assert row["bucket"] == "2026-11-03"  # dated by the later of prediction and review
    # a retried log of the same prediction replaces it: still one prediction, one score
    served(warehouse, text, "1.0.0", {"s0": 0.8, "s3": 0.6})
    assert warehouse.scalar("SELECT COUNT(*) FROM prediction_requests WHERE request_id = ?", (rid,)) == 3
    assert warehouse.scalar("SELECT COUNT(*) FROM prediction_skills WHERE request_id = ?", (rid,)) == 5
    assert by_version(warehouse)["1.0.0"] == (1, 1.0)


def test_a_second_review_is_kept_and_a_reviewer_replaces_only_their_own(warehouse):
    rid = served(warehouse, "text one", "1.0.0", {"s0": 0.8, "s1": 0.6})
    first = submit_feedback(warehouse, TAX, REVIEWER, rid, ["s0"], ["s1"], ["s3"], now=T0)
    second = submit_feedback(warehouse, TAX, ROB, rid, ["s0", "s1"], [], [], now=T0 + timedelta(hours=1))
    assert first["replaced"] is False and second["replaced"] is False
    again = submit_feedback(warehouse, TAX, REVIEWER, rid, ["s0"], ["s1"], [], now=T0 + timedelta(hours=2))
    assert again["replaced"] is True
    rows = warehouse.query(
        "SELECT reviewer, skill_id, decision FROM feedback WHERE request_id = ? ORDER BY reviewer, skill_id",
        (rid,),
    )
    assert [(r["reviewer"], r["skill_id"], r["decision"]) for r in rows] == [
        ("rita", "s0", "accepted"),
        ("rita", "s1", "rejected"),
        ("rob", "s0", "accepted"),
        ("rob", "s1", "accepted"),
    ]
    assert by_version(warehouse) == {"1.0.0": (2, 0.75)}  # rita 1/2, rob 1
    assert get_prediction(warehouse, rid)["n_reviews"] == 2
    assert get_prediction(warehouse, rid)["feedback"]["reviewer"] == "rita"  # the newest review
    # the text's ground truth: skills confirmed by at least half of its reviewers
    assert repositories(warehouse).feedback.confirmed([rid, "nope"]) == {rid: {"s0", "s1"}}


def test_agreement_between_reviewers_and_their_daily_counts(warehouse):
    a = served(warehouse, "text a", "1.0.0", {"s0": 0.8, "s3": 0.6})
    b = served(warehouse, "text b", "1.0.0", {})
    c = served(warehouse, "text c", "1.0.0", {"s1": 0.7})
    day1, day2 = T0, T0 + timedelta(days=1)
    submit_feedback(warehouse, TAX, REVIEWER, a, ["s0", "s3"], [], [], now=day1)
    submit_feedback(warehouse, TAX, REVIEWER, b, [], [], [], now=day1)  # "no skills apply"
    submit_feedback(warehouse, TAX, REVIEWER, c, ["s1"], [], [], now=day1)
    submit_feedback(warehouse, TAX, ROB, a, ["s0"], ["s3"], [], now=day2)
    submit_feedback(warehouse, TAX, ROB, b, [], [], [], now=day2)
    submit_feedback(warehouse, TAX, RIA, a, ["s0"], [], [], now=day2)
    agreement = monitoring.reviewer_agreement(warehouse)
    # pairs: a: rita-rob 1/2, rita-ria 1/2, rob-ria 1; b: rita-rob 1 (both empty agree)
    assert (agreement.overall.n_texts, agreement.overall.n_pairs) == (2, 4)
    assert agreement.overall.jaccard == pytest.approx(0.75)
    assert [(r.reviewer, r.n_texts, r.n_pairs, pytest.approx(r.jaccard)) for r in agreement.reviewers] == [
        ("ria", 1, 2, 0.75),
        ("rita", 2, 3, 2 / 3),
        ("rob", 2, 3, 5 / 6),
    ]
    activity = monitoring.reviewer_activity(warehouse)
    assert [(d.day, d.reviewer, d.n_reviews, d.n_confirmed) for d in activity.daily] == [
        ("2026-11-02", "rita", 3, 3),
        ("2026-11-03", "ria", 1, 1),
        ("2026-11-03", "rob", 2, 1),
    ]
    assert activity.totals == {"ria": 1, "rita": 3, "rob": 2}
    assert monitoring.reviewer_activity(warehouse, start=day2).totals == {"ria": 1, "rob": 2}


def test_the_queue_serves_the_least_sure_first_or_the_oldest(warehouse):
    served(warehouse, "old", "1.0.0", {"s0": 0.9, "s1": 0.7}, at=T0)
    served(warehouse, "none", "1.0.0", {}, at=T0 - timedelta(hours=2))
    served(warehouse, "unsure", "1.0.0", {"s2": 0.46, "s3": 0.95}, at=T0 + timedelta(hours=1))
    served(warehouse, "sure", "1.0.0", {"s4": 0.99}, at=T0 - timedelta(hours=1))
    served(warehouse, "failed", "1.0.0", {}, at=T0 - timedelta(hours=5), status="error")
    order = []
    while (item := next_unreviewed(warehouse)) is not None:
        order.append(item["original_input"])
        submit_feedback(
            warehouse,
            TAX,
            REVIEWER,
            item["request_id"],
            [],
            [],
            [] if not item["skills"] else ["s5"],
            now=T0 + timedelta(days=1),
            model_version=item["model_version"],
        )
    assert order == ["unsure", "old", "sure", "none"]
    assert next_unreviewed(warehouse, order=OLDEST) is None


# -- negative path ---------------------------------------------------------------------------------
def test_a_review_of_a_version_that_did_not_serve_the_text_is_refused(warehouse):
    rid = served(warehouse, "text", "1.0.0", {"s0": 0.8})
    with pytest.raises(FeedbackError, match="unknown request .* by model 9.9.9"):
        submit_feedback(warehouse, TAX, REVIEWER, rid, ["s0"], [], [], model_version="9.9.9")
    with pytest.raises(ValueError, match="order must be one of"):
        next_unreviewed(warehouse, order="random")
    assert warehouse.scalar("SELECT COUNT(*) FROM prediction_scores") == 0


# -- edge and boundary cases -----------------------------------------------------------------------
def test_no_reviews_no_pairs_and_a_reviewed_text_leaves_the_queue_for_every_version(warehouse):
    empty = monitoring.reviewer_agreement(warehouse)
    assert (empty.overall.n_pairs, empty.overall.jaccard, empty.reviewers) == (0, None, ())
    assert monitoring.reviewer_activity(warehouse).totals == {}
    rid = served(warehouse, "text", "1.0.0", {"s0": 0.8}, at=T0)
    served(warehouse, "text", "1.1.0", {"s0": 0.5}, at=T0 + timedelta(minutes=1))
    assert next_unreviewed(warehouse)["model_version"] == "1.1.0"  # the less sure prediction
    assert next_unreviewed(warehouse, order=OLDEST)["model_version"] == "1.0.0"
    submit_feedback(warehouse, TAX, REVIEWER, rid, ["s0"], [], [], now=T0, model_version="1.0.0")
    assert next_unreviewed(warehouse) is None
    one = monitoring.reviewer_agreement(warehouse)  # one reviewer: still no pair
    assert (one.overall.n_texts, one.overall.n_pairs, one.overall.jaccard) == (0, 0, None)
    assert by_version(warehouse) == {"1.0.0": (1, 1.0), "1.1.0": (1, 1.0)}
    # a failed request of the text gets no score
    served(warehouse, "text", "2.0.0", {}, at=T0 + timedelta(hours=1), status="error")
    assert "2.0.0" not in by_version(warehouse)
