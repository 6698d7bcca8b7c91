"""Reviewer feedback on SQLite: ground truth, replacement on resubmission, refusals, atomicity."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops.adapters.warehouse import open_warehouse
from mlops.services import audit
from mlops.services.feedback import FeedbackError, get_prediction, next_unreviewed, submit_feedback
from mlops.services.identity import PermissionDenied
from tests.unit.monitoring_rows import ADMIN, REVIEWER, STAKEHOLDER, T0, log_prediction, small_taxonomy

TAX = small_taxonomy()


def decisions(wh, request_id="r1"):
    rows = wh.query(
        "SELECT skill_id, decision, reviewer FROM feedback WHERE request_id = ? ORDER BY skill_id",
        (request_id,),
    )
    return {(r["skill_id"], r["decision"], r["reviewer"]) for r in rows}


def submissions(wh, request_id="r1"):
    return wh.query("SELECT * FROM feedback_submissions WHERE request_id = ?", (request_id,))


# -- happy path ------------------------------------------------------------------------------------
def test_submit_stores_decisions_counts_and_audit(wh):
    log_prediction(wh, "r1", ["s0", "s1", "s2"], model_version="1.2.0")
    summary = submit_feedback(
        wh, TAX, REVIEWER, "r1", accepted=["s0", "s1"], rejected=["s2"], added=["s5"], now=T0
    )
    assert decisions(wh) == {
        ("s0", "accepted", "rita"),
        ("s1", "accepted", "rita"),
        ("s2", "rejected", "rita"),
        ("s5", "added", "rita"),
    }
    [sub] = submissions(wh)
    assert (sub["n_predicted"], sub["n_confirmed"], sub["n_overlap"]) == (3, 3, 2)
    assert sub["model_version"] == "1.2.0" and sub["reviewer"] == "rita"
    assert (sub["submitted_at"], sub["day"], sub["week"]) == (
        "2026-11-02T09:00:00.000Z",
        "2026-11-02",
        "2026-W45",
    )
    assert summary["jaccard"] == pytest.approx(2 / 4)
    assert summary["precision"] == pytest.approx(2 / 3) and summary["recall"] == pytest.approx(2 / 3)
    assert summary["replaced"] is False
    [event] = audit.events(wh, action="feedback.submit")
    assert event["actor"] == "rita" and event["target"] == "r1"
    assert event["details"]["rejected"] == ["s2"]


def test_resubmission_replaces_the_earlier_one(wh):
    log_prediction(wh, "r1", ["s0", "s1"])
    submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], ["s1"], [], now=T0)
    summary = submit_feedback(
        wh, TAX, REVIEWER, "r1", ["s0", "s1"], [], ["s3"], now=T0 + timedelta(seconds=2)
    )
    assert summary["replaced"] is True
    assert decisions(wh) == {("s0", "accepted", "rita"), ("s1", "accepted", "rita"), ("s3", "added", "rita")}
    [sub] = submissions(wh)
    assert (sub["n_confirmed"], sub["n_overlap"]) == (3, 2)
    assert len(audit.events(wh, action="feedback.submit")) == 2


def test_identical_double_submit_leaves_one_copy(wh):
    log_prediction(wh, "r1", ["s0"])
    for _ in range(2):
        submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], [], [], now=T0)
    assert len(submissions(wh)) == 1
    assert wh.scalar("SELECT COUNT(*) FROM feedback") == 1


def test_get_prediction_includes_skills_and_feedback(wh):
    log_prediction(wh, "r1", ["s2", "s1"], taxonomy=TAX)
    before = get_prediction(wh, "r1")
    assert [s["skill_id"] for s in before["skills"]] == ["s2", "s1"]
    assert before["skills"][0]["skill_title"] == "skill number 2" and before["feedback"] is None
    submit_feedback(wh, TAX, REVIEWER, "r1", ["s2"], ["s1"], ["s4"], now=T0)
    after = get_prediction(wh, "r1")
    assert after["feedback"]["accepted"] == ["s2"] and after["feedback"]["rejected"] == ["s1"]
    assert after["feedback"]["added"] == ["s4"] and after["feedback"]["reviewer"] == "rita"


def test_next_unreviewed_is_the_oldest_unreviewed_successful_one(wh):
    log_prediction(wh, "new", ["s0"], at=T0 + timedelta(hours=2))
    log_prediction(wh, "old", ["s1"], at=T0)
    log_prediction(wh, "failed", [], at=T0 - timedelta(hours=1), status="error")
    log_prediction(wh, "uat", ["s2"], at=T0 - timedelta(hours=3), stage="uat")
    assert next_unreviewed(wh)["request_id"] == "uat"
    assert next_unreviewed(wh, stage="prod")["request_id"] == "old"
    submit_feedback(wh, TAX, REVIEWER, "old", ["s1"], [], [], now=T0)
    item = next_unreviewed(wh, stage="prod")
    assert item["request_id"] == "new" and [s["skill_id"] for s in item["skills"]] == ["s0"]
    submit_feedback(wh, TAX, REVIEWER, "new", [], ["s0"], [], now=T0)
    assert next_unreviewed(wh, stage="prod") is None


# -- negative path ---------------------------------------------------------------------------------
@pytest.mark.parametrize("user", [None, STAKEHOLDER, ADMIN])
def test_only_reviewers_may_submit(wh, user):
    log_prediction(wh, "r1", ["s0"])
    with pytest.raises(PermissionDenied, match="submit feedback"):
        submit_feedback(wh, TAX, user, "r1", ["s0"], [], [])
    assert submissions(wh) == []


@pytest.mark.parametrize(
    "accepted, rejected, added, message",
    [
        (["s0"], ["s0"], [], "both accepted and rejected: s0"),
        ([], ["s1"], ["s1"], "both added and rejected: s1"),
        (["s4"], [], [], "accepted skill\\(s\\) were not predicted for this request .*: s4"),
        ([], ["s4"], [], "rejected skill\\(s\\) were not predicted"),
        (["nope"], [], [], "accepted skill\\(s\\) not in the taxonomy: nope"),
        ([], [], ["ghost"], "added skill\\(s\\) not in the taxonomy: ghost"),
        ([], [], [], "no decision"),
        ("s0", [], [], "must be a list"),
        ([""], [], [], "invalid skill id"),
    ],
)
def test_refusals_are_clear_and_save_nothing(wh, accepted, rejected, added, message):
    log_prediction(wh, "r1", ["s0", "s1"])
    with pytest.raises(FeedbackError, match=message):
        submit_feedback(wh, TAX, REVIEWER, "r1", accepted, rejected, added)
    assert submissions(wh) == [] and decisions(wh) == set()
    assert audit.events(wh, action="feedback.submit") == []


def test_unknown_request_is_refused(wh):
    with pytest.raises(FeedbackError, match="unknown request nope"):
        submit_feedback(wh, TAX, REVIEWER, "nope", [], [], ["s0"])


def test_failed_request_is_refused(wh):
    log_prediction(wh, "bad", [], status="error")
    with pytest.raises(FeedbackError, match="failed"):
        submit_feedback(wh, TAX, REVIEWER, "bad", [], [], ["s0"])


def test_warehouse_failure_saves_nothing_and_keeps_the_earlier_submission(wh):
    log_prediction(wh, "r1", ["s0", "s1"])
    submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], [], [], now=T0)
    wh.execute(
        "CREATE TRIGGER fail BEFORE INSERT ON feedback_submissions "
        "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )
    with pytest.raises(FeedbackError, match="nothing was saved, please retry"):
        submit_feedback(wh, TAX, REVIEWER, "r1", ["s0", "s1"], [], ["s5"], now=T0)
    assert decisions(wh) == {("s0", "accepted", "rita")}  # the delete+insert was rolled back
    assert len(submissions(wh)) == 1
    assert len(audit.events(wh, action="feedback.submit")) == 1


def test_unreachable_warehouse_is_reported_to_the_reviewer(tmp_path):
    wh = open_warehouse(f"sqlite:///{tmp_path}/w.db")
    wh.close()
    with pytest.raises(FeedbackError, match="nothing was saved"):
        submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], [], [])


def test_get_prediction_of_unknown_request_is_none(wh):
    assert get_prediction(wh, "nope") is None
    assert next_unreviewed(wh) is None


# -- edge and boundary cases -----------------------------------------------------------------------
def test_empty_prediction_confirmed_empty_scores_one(wh):
    log_prediction(wh, "r1", [])
    summary = submit_feedback(wh, TAX, REVIEWER, "r1", [], [], [], now=T0)
    assert (summary["n_predicted"], summary["n_confirmed"], summary["n_overlap"]) == (0, 0, 0)
    assert summary["jaccard"] == summary["precision"] == summary["recall"] == summary["f1"] == 1.0


def test_empty_prediction_with_added_skills_scores_zero(wh):
    log_prediction(wh, "r1", [])
    summary = submit_feedback(wh, TAX, REVIEWER, "r1", [], [], ["s0"], now=T0)
    assert (summary["n_predicted"], summary["n_confirmed"]) == (0, 1)
    assert summary["jaccard"] == summary["precision"] == summary["recall"] == summary["f1"] == 0.0


def test_rejecting_everything_gives_an_empty_confirmed_set(wh):
    log_prediction(wh, "r1", ["s0", "s1"])
    summary = submit_feedback(wh, TAX, REVIEWER, "r1", [], ["s0", "s1"], [], now=T0)
    assert (summary["n_predicted"], summary["n_confirmed"], summary["n_overlap"]) == (2, 0, 0)
    assert summary["jaccard"] == summary["recall"] == summary["precision"] == 0.0


def test_adding_a_predicted_skill_counts_as_accepting_it(wh):
    log_prediction(wh, "r1", ["s0", "s1"])
    summary = submit_feedback(wh, TAX, REVIEWER, "r1", [], [], ["s0"], now=T0)
    assert summary["accepted"] == ["s0"] and summary["added"] == []
    assert decisions(wh) == {("s0", "accepted", "rita")}
    assert summary["n_overlap"] == 1


def test_duplicate_ids_in_a_list_count_once(wh):
    log_prediction(wh, "r1", ["s0"])
    summary = submit_feedback(wh, TAX, REVIEWER, "r1", ["s0", "s0"], [], ["s3", "s3"], now=T0)
    assert summary["n_confirmed"] == 2 and wh.scalar("SELECT COUNT(*) FROM feedback") == 2


def test_undecided_predicted_skills_are_not_confirmed(wh):
    log_prediction(wh, "r1", ["s0", "s1", "s2", "s3"])
    summary = submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], [], [], now=T0)
    assert (summary["n_predicted"], summary["n_confirmed"], summary["n_overlap"]) == (4, 1, 1)
    assert summary["precision"] == 0.25 and summary["recall"] == 1.0


def test_a_request_logged_twice_counts_its_skills_once(wh):
    log_prediction(wh, "r1", ["s0", "s1"], at=T0)
    log_prediction(wh, "r1", ["s0", "s1"], at=T0 + timedelta(minutes=1), model_version="1.1.0")
    summary = submit_feedback(wh, TAX, REVIEWER, "r1", ["s0", "s1"], [], [], now=T0)
    assert summary["n_predicted"] == 2 and summary["model_version"] == "1.1.0"
    assert len(get_prediction(wh, "r1")["skills"]) == 2
