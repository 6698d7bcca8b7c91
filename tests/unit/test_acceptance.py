"""The learned acceptance model of the output set (sea_core.acceptance): its features, the
expected-Jaccard cut, fitting it, and how an `OutputRule` stores and serves it."""

import json
import math

import numpy as np
import pytest

from sea_core.acceptance import (
    ACCEPT_DEPTH,
    ACCEPT_FEATURES,
    AcceptanceModel,
    fit_acceptance,
    suggestion_features,
)
from sea_core.matching import Candidate
from sea_core.output_set import OutputRule, prepare

#: p = sigmoid(confidence): a candidate's confidence is the logit of its probability.
BY_CONFIDENCE = AcceptanceModel(("confidence",), (1.0,), 0.0)


def logit(p):
    return math.log(p / (1 - p))


def ranking(probabilities, text="one sentence about work"):
    candidates = [
        Candidate(row=i, confidence=logit(p), phrase="work", phrase_start=19, phrase_end=23 + i)
        for i, p in enumerate(probabilities)
    ]
    return prepare(candidates, text)


# -- happy path -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("probabilities", "kept"),
    [
        ([0.9, 0.9, 0.1], [0, 1]),  # two likely skills: both
        ([0.9, 0.2, 0.1], [0]),  # one clear skill: one
        ([0.6, 0.55, 0.5, 0.45], [0, 1, 2, 3]),  # several half-likely ones: all of them
    ],
)
def test_the_cut_keeps_the_suggestions_of_highest_expected_jaccard(probabilities, kept):
    assert BY_CONFIDENCE.choose(ranking(probabilities), cap=10) == kept


def test_the_cut_follows_probability_not_rank():
    model = AcceptanceModel(("position",), (5.0,), -2.0)  # later suggestions are likelier here
    assert model.choose(ranking([0.9, 0.9, 0.9, 0.9, 0.9]), cap=10)[-1] == 4
    assert model.choose(ranking([0.9, 0.9, 0.9, 0.9, 0.9]), cap=1) == [4]


def test_fitting_learns_which_suggestions_reviewers_confirm():
    rng = np.random.default_rng(0)
    features, labels = [], []
    for _ in range(40):
        probabilities = rng.uniform(0.05, 0.95, size=6)
        _, rows = suggestion_features(ranking(probabilities))
        features.append(rows)
        labels.append(rng.uniform(size=6) < probabilities)
    model = fit_acceptance(features, labels)
    assert model is not None and model.features == ACCEPT_FEATURES
    _, probe = suggestion_features(ranking([0.95, 0.5, 0.05]))
    p = model.probabilities(probe)
    assert p[0] > p[1] > p[2]


def test_a_rule_with_an_acceptance_model_round_trips_through_json():
    rule = OutputRule(fold_similarity=0.75, acceptance=BY_CONFIDENCE)
    data = json.loads(json.dumps(rule.to_dict()))
    assert data["acceptance"] == {"features": ["confidence"], "weights": [1.0], "bias": 0.0}
    assert OutputRule.from_dict(data) == rule


def test_a_rule_serves_its_acceptance_cut():
    candidates = [Candidate(row=i, confidence=logit(p)) for i, p in enumerate([0.9, 0.7, 0.6])]
    threshold_rule = OutputRule(min_confidence=0.05, relative_margin=100.0)
    assert len(threshold_rule.select(candidates, "text")) == 3
    strict = AcceptanceModel(("confidence",), (1.0,), -2.0)  # p 0.55, 0.24, 0.17
    assert [c.row for c in OutputRule(acceptance=strict).select(candidates, "text")] == [0]


# -- negative path ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("features", "weights", "bias", "message"),
    [
        (("confidence", "position"), (1.0,), 0.0, "2 features but 1 weights"),
        (("no such feature",), (1.0,), 0.0, "unknown acceptance feature"),
        (("confidence",), (float("nan"),), 0.0, "finite"),
        (("confidence",), (1.0,), float("inf"), "finite"),
    ],
)
def test_a_malformed_model_is_refused(features, weights, bias, message):
    with pytest.raises(ValueError, match=message):
        AcceptanceModel(features, weights, bias)


@pytest.mark.parametrize("data", [{"features": ["confidence"]}, {"features": 3, "weights": [], "bias": 0}])
def test_a_malformed_stored_model_is_a_clear_error(data):
    with pytest.raises(ValueError, match="acceptance"):
        AcceptanceModel.from_dict(data)


def test_a_stored_rule_whose_acceptance_is_not_a_mapping_is_refused():
    with pytest.raises(ValueError, match="acceptance must be a mapping"):
        OutputRule.from_dict({"acceptance": [1, 2]})
    with pytest.raises(ValueError, match="AcceptanceModel or None"):
        OutputRule(acceptance={"weights": []})  # type: ignore[arg-type]


def test_labels_of_one_class_fit_nothing():
    rows = [suggestion_features(ranking([0.9, 0.5]))[1]] * 3
    assert fit_acceptance(rows, [np.array([False, False])] * 3) is None
    assert fit_acceptance(rows, [np.array([True, True])] * 3) is None
    assert fit_acceptance([], []) is None


def test_labels_that_do_not_match_the_rows_are_an_error():
    rows = [suggestion_features(ranking([0.9, 0.5]))[1]]
    with pytest.raises(ValueError, match="2 feature rows but 3 labels"):
        fit_acceptance(rows, [np.array([True, False, True])])


# -- edge cases -------------------------------------------------------------------------------
def test_a_text_with_nothing_likely_gets_its_most_probable_suggestion_and_no_text_nothing():
    assert BY_CONFIDENCE.choose(ranking([0.04, 0.05, 0.03]), cap=10) == [1]
    assert BY_CONFIDENCE.choose(ranking([]), cap=10) == []


def test_a_plain_ranking_ignores_the_acceptance_model():
    candidates = [Candidate(row=i, confidence=logit(p)) for i, p in enumerate([0.9, 0.2, 0.1])]
    plain = OutputRule(min_confidence=0.0, acceptance=BY_CONFIDENCE)
    assert len(plain.select(candidates, "text")) == 3


def test_a_rule_without_an_acceptance_model_keeps_its_old_stored_form():
    assert "acceptance" not in OutputRule().to_dict()
    assert OutputRule.from_dict(OutputRule().to_dict()) == OutputRule()


def test_features_of_a_whole_text_candidate_and_a_constant_column():
    whole = prepare([Candidate(row=0, confidence=0.5, text_similarity=0.5)], "a text")
    row = suggestion_features(whole)[1][0]
    named = dict(zip(ACCEPT_FEATURES, row))
    assert named["has_span"] == 0.0 and named["log_phrase_words"] == 0.0 and named["above_next"] == 0.5
    constant = [suggestion_features(ranking([0.5, 0.5, 0.5]))[1]] * 4  # several columns constant
    model = fit_acceptance(constant, [np.array([True, False, False])] * 4)
    assert model is not None and all(math.isfinite(w) for w in model.weights)


# -- boundary cases ---------------------------------------------------------------------------
def test_the_cap_bounds_the_cut():
    likely = ranking([0.9, 0.9, 0.9, 0.9])
    assert BY_CONFIDENCE.choose(likely, cap=4) == [0, 1, 2, 3]
    assert BY_CONFIDENCE.choose(likely, cap=2) == [0, 1]
    assert BY_CONFIDENCE.choose(likely, cap=0) == []


def test_a_sentence_contributes_at_most_the_depth():
    many = ranking([0.9] * (ACCEPT_DEPTH + 5))
    positions, rows = suggestion_features(many)
    assert positions == list(range(ACCEPT_DEPTH)) and len(rows) == ACCEPT_DEPTH
    assert len(BY_CONFIDENCE.choose(many, cap=ACCEPT_DEPTH + 5)) == ACCEPT_DEPTH
    assert len(BY_CONFIDENCE.choose(many, cap=ACCEPT_DEPTH - 1)) == ACCEPT_DEPTH - 1


def _two_sentences(per_sentence):
    """A text of two sentences, `per_sentence` phrase candidates in each (the first sentence's
    ranked first), then one whole-text candidate."""
    text = "We use SQL daily. We build dashboards."
    first = [
        Candidate(row=i, confidence=0.9 - 0.01 * i, phrase="SQL", phrase_start=7, phrase_end=10)
        for i in range(per_sentence)
    ]
    second = [
        Candidate(row=100 + i, confidence=0.7 - 0.01 * i, phrase="dashboards", phrase_start=27, phrase_end=37)
        for i in range(per_sentence)
    ]
    return prepare([*first, *second, Candidate(row=999, confidence=0.5)], text)


def test_a_longer_text_is_considered_and_described_sentence_by_sentence():
    positions, rows = suggestion_features(_two_sentences(ACCEPT_DEPTH + 2))
    n = ACCEPT_DEPTH + 2
    assert positions == [*range(ACCEPT_DEPTH), *range(n, n + ACCEPT_DEPTH), 2 * n]  # each sentence's first
    named = {f: rows[:, i] for i, f in enumerate(ACCEPT_FEATURES)}
    assert named["position"][0] == 0.0 and named["position"][ACCEPT_DEPTH] == 0.0  # each sentence starts at 0
    assert named["position"][-1] == 0.0  # the whole-text candidates are a group of their own
    assert named["above_next"][ACCEPT_DEPTH - 1] == pytest.approx(named["confidence"][ACCEPT_DEPTH - 1])


def test_a_one_sentence_text_is_one_group_with_its_whole_text_candidates():
    one = prepare(
        [
            Candidate(row=0, confidence=0.9, phrase="SQL", phrase_start=7, phrase_end=10),
            Candidate(row=1, confidence=0.8),
            Candidate(row=2, confidence=0.7, phrase="SQL", phrase_start=7, phrase_end=10),
        ],
        "We use SQL daily",
    )
    _, rows = suggestion_features(one)
    position = rows[:, ACCEPT_FEATURES.index("position")]
    assert position.tolist() == [0.0, 0.1, 0.2]


def test_position_saturates_after_ten_suggestions():
    _, rows = suggestion_features(ranking([0.5] * 12))
    position = ACCEPT_FEATURES.index("position")
    assert rows[0, position] == 0.0 and rows[10, position] == rows[11, position] == 1.0
