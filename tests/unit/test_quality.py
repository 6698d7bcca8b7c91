"""The one definition of quality (sea_core.quality): per-request set metrics with their empty-set
convention, ranking metrics, and the mean aggregate; equal to monitoring's request_metrics."""

import itertools

import pytest

from mlops.services.monitoring import request_metrics
from sea_core.quality import (
    SET_METRICS,
    count_scores,
    mean_scores,
    r_precision_at,
    ranking_scores,
    reciprocal_rank,
    request_scores,
    set_scores,
)

SMALL_CASES = [(p, c, o) for p, c in itertools.product(range(4), repeat=2) for o in range(min(p, c) + 1)]


# -- happy path -------------------------------------------------------------------------------
def test_set_scores_of_a_partial_overlap():
    scores = set_scores({"a", "b", "c"}, {"b", "c", "d", "e"})
    assert scores.jaccard == pytest.approx(2 / 5)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.f1 == pytest.approx(2 * 2 / 7)


def test_ranking_scores_find_the_first_relevant_item_and_the_top_five():
    ranking = ["x", "a", "y", "b", "z", "c"]
    assert reciprocal_rank(ranking, {"a", "b"}) == 0.5
    assert r_precision_at(ranking, {"a", "b", "c"}, 5) == pytest.approx(2 / 3)
    assert ranking_scores(ranking, {"a"}) == {"mrr": 0.5, "r_precision@5": 1.0}


def test_request_scores_holds_ranking_and_set_metrics():
    row = request_scores(["a", "b"], ["a"], {"a", "b"})
    assert row == {
        "mrr": 1.0,
        "r_precision@5": 1.0,
        "jaccard": 0.5,
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
    }


def test_the_aggregate_is_the_mean_of_per_request_values_not_pooled_counts():
    rows = [set_scores(["a"], ["a"]).as_dict(), set_scores(["a", "b", "c", "d"], ["e"]).as_dict()]
    assert mean_scores(rows)["f1"] == pytest.approx(0.5)  # pooled counts would give 2/6


@pytest.mark.parametrize("n_predicted,n_confirmed,n_overlap", SMALL_CASES)
def test_every_small_case_equals_the_monitoring_definition(n_predicted, n_confirmed, n_overlap):
    ours = count_scores(n_predicted, n_confirmed, n_overlap).as_dict()
    theirs = request_metrics(n_predicted, n_confirmed, n_overlap)
    assert set(ours) == set(theirs) == set(SET_METRICS)
    for metric in SET_METRICS:
        assert ours[metric] == pytest.approx(theirs[metric], abs=1e-12), metric


@pytest.mark.parametrize("n_predicted,n_confirmed,n_overlap", SMALL_CASES)
def test_sets_and_counts_agree(n_predicted, n_confirmed, n_overlap):
    predicted = {f"s{i}" for i in range(n_predicted)}
    confirmed = {f"s{i}" for i in range(n_overlap)} | {f"c{i}" for i in range(n_confirmed - n_overlap)}
    assert set_scores(predicted, confirmed) == count_scores(n_predicted, n_confirmed, n_overlap)


# -- negative path ----------------------------------------------------------------------------
@pytest.mark.parametrize("counts", [(-1, 0, 0), (0, -1, 0), (1, 1, -1), (1, 2, 2), (3, 1, 2)])
def test_impossible_counts_are_rejected(counts):
    with pytest.raises(ValueError):
        count_scores(*counts)


def test_rows_with_different_metrics_cannot_be_averaged():
    with pytest.raises(ValueError, match="same metrics"):
        mean_scores([{"jaccard": 1.0}, {"f1": 1.0}])


def test_r_precision_needs_a_positive_k():
    with pytest.raises(ValueError, match="k must be"):
        r_precision_at(["a"], {"a"}, 0)


# -- edge cases -------------------------------------------------------------------------------
def test_both_sets_empty_score_one_on_every_metric():
    assert set_scores([], []).as_dict() == {"jaccard": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}


@pytest.mark.parametrize("predicted,confirmed", [([], ["a"]), (["a"], [])])
def test_exactly_one_empty_set_scores_zero_on_every_metric(predicted, confirmed):
    assert set_scores(predicted, confirmed).as_dict() == {
        "jaccard": 0.0,
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
    }


def test_duplicates_count_once():
    assert set_scores(["a", "a", "b"], ["a"]) == set_scores(["a", "b"], ["a"])


def test_empty_ranking_or_nothing_relevant_scores_zero():
    assert reciprocal_rank([], {"a"}) == 0.0
    assert r_precision_at(["a"], set()) == 0.0
    assert mean_scores([]) == {}


# -- boundary cases ---------------------------------------------------------------------------
def test_r_precision_counts_only_the_top_k():
    ranking = ["x1", "x2", "x3", "x4", "a", "b"]
    assert r_precision_at(ranking, {"a"}, 5) == 1.0  # the 5th position is inside
    assert r_precision_at(ranking, {"b"}, 5) == 0.0  # the 6th is outside
    assert r_precision_at(ranking, {"a", "b"}, 6) == 1.0  # min(k, |R|) = 2


def test_reciprocal_rank_of_the_last_position():
    assert reciprocal_rank(["x"] * 9 + ["a"], {"a"}) == pytest.approx(0.1)


def test_mean_scores_rounds_only_when_asked():
    rows = [{"jaccard": 1 / 3}]
    assert mean_scores(rows)["jaccard"] == 1 / 3
    assert mean_scores(rows, digits=2)["jaccard"] == 0.33
