"""The output-set rule (sea_core.output_set): threshold, per-sentence margin, floor, cap and
near-duplicate folding, on hand-made candidates."""

from dataclasses import replace

import numpy as np
import pytest

from sea_core.matching import Candidate
from sea_core.output_set import (
    MAX_ALTERNATIVES,
    SHIPPED_RULE,
    OutputRule,
    fold_near_duplicates,
    prepare,
    select_output,
    sentence_starts,
)

TEXT = "We use python daily. We also weld; and we keep books."


def cand(row, confidence, start=-1, end=-1, phrase="full text"):
    return Candidate(row=row, confidence=confidence, phrase=phrase, phrase_start=start, phrase_end=end)


def rows(chosen):
    return [c.row for c in chosen]


# -- happy path -------------------------------------------------------------------------------
def test_sentence_starts_split_at_stops_semicolons_and_newlines():
    assert sentence_starts("a. b; c\nd") == [0, 2, 5, 8]


def test_each_sentence_contributes_its_clear_winners():
    candidates = [
        cand(0, 0.80, 7, 13),
        cand(1, 0.78, 7, 13),
        cand(2, 0.70, 7, 13),
        cand(3, 0.60, 29, 33),
        cand(4, 0.50, 29, 33),
    ]
    rule = OutputRule(min_confidence=0.45, relative_margin=0.06, max_skills=10)
    # sentence 1: 0.80 and 0.78 within 0.06 of 0.80; sentence 2: its own best 0.60 only
    assert rows(rule.select(candidates, TEXT)) == [0, 1, 3]


def test_the_legacy_function_is_the_rule_without_floor_or_folding():
    candidates = [cand(0, 0.8, 7, 13), cand(1, 0.5, 29, 33), cand(2, 0.3)]
    assert select_output(candidates, TEXT, 0.45, 10, 0.06) == SHIPPED_RULE.select(candidates, TEXT)


def test_near_duplicates_of_the_same_phrase_fold_into_the_best_one():
    vectors = np.eye(4, dtype=np.float32)
    vectors[1] = [0.9, np.sqrt(1 - 0.81), 0, 0]  # cosine 0.9 with row 0
    candidates = [cand(0, 0.8, 7, 13), cand(1, 0.79, 7, 13), cand(2, 0.78, 7, 13)]
    suggestions = OutputRule(fold_similarity=0.85).apply(candidates, TEXT, vectors)
    assert [s.candidate.row for s in suggestions] == [0, 2]
    assert [a.row for a in suggestions[0].alternatives] == [1]
    assert suggestions[1].alternatives == ()


def test_rules_round_trip_through_plain_json():
    rule = OutputRule(0.5, 0.1, 3, 1, 0.8, 4.0)
    assert OutputRule.from_dict(rule.to_dict()) == rule
    # a rule stored before the long-text cap and folding existed keeps its fixed cap, unfolded
    assert OutputRule.from_dict({}) == replace(SHIPPED_RULE, skills_per_100_words=0.0, fold_similarity=0.0)


def long_text(words):
    return " ".join(f"w{i}" for i in range(words))


def test_a_long_text_gets_more_suggestions_than_the_fixed_cap():
    candidates = [cand(row, 0.9 - row * 0.001) for row in range(40)]  # whole-text, all clear
    rule = OutputRule(min_confidence=0.45, relative_margin=1.0, max_skills=10, skills_per_100_words=6.0)
    assert len(rule.select(candidates, long_text(250))) == 15
    assert len(rule.select(candidates, long_text(50))) == 10  # short: the fixed cap
    assert len(replace(rule, skills_per_100_words=0.0).select(candidates, long_text(250))) == 10
    assert (
        len(replace(rule, min_confidence=0.0).select(candidates, long_text(500))) == 30
    )  # plain ranking too


def test_a_per_sentence_cap_lets_each_sentence_contribute():
    three = "We use python daily. We also weld pipes. We keep the books."
    candidates = [cand(row, 0.9 - row * 0.001) for row in range(10)]  # whole-text, all clear
    rule = OutputRule(min_confidence=0.45, relative_margin=1.0, max_skills=2, cap_per_sentence=True)
    assert len(rule.select(candidates, three)) == 6  # 2 per sentence, 3 sentences
    assert len(replace(rule, cap_per_sentence=False).select(candidates, three)) == 2
    assert len(rule.select(candidates, "teamwork")) == 2  # one sentence: the plain cap
    assert OutputRule.from_dict(rule.to_dict()) == rule
    assert OutputRule.from_dict({"max_skills": 2}).cap_per_sentence is False  # stored before it


def test_the_sentences_counted_for_the_cap_hold_words():
    from sea_core.output_set import prepare

    assert prepare([], "One. Two.\n\n").sentences == 2  # the empty tail is no sentence
    assert prepare([], "").sentences == 0 and OutputRule(max_skills=3, cap_per_sentence=True).cap(0, 0) == 3
    assert prepare([], "a\nb\nc").sentences == 3  # bullet lines count


def test_markup_breaks_sentences_and_is_no_word():
    # an HTML list is one line of text: each item is a sentence of its own, and tags are no words
    html = "<ul><li>python daily</li><li>weld</li></ul>"
    assert prepare([], html).sentences == 2 and prepare([], html).words == 3
    items = [cand(0, 0.80, 8, 14, "python"), cand(1, 0.60, 32, 36, "weld")]
    assert rows(OutputRule(min_confidence=0.5, relative_margin=0.1).select(items, html)) == [0, 1]


def test_the_length_cap_still_applies_when_it_is_more_than_the_sentence_cap():
    rule = OutputRule(max_skills=2, skills_per_100_words=6.0, cap_per_sentence=True)
    assert rule.cap(300, 3) == 18 and rule.cap(50, 3) == 6 and rule.cap(50, 1) == 3


def test_a_requested_top_k_caps_the_whole_text_even_for_a_per_sentence_rule():
    from sea_core.pipeline import Pipeline, PipelineConfig

    config = PipelineConfig(output_rule=OutputRule(max_skills=2, cap_per_sentence=True))
    pipeline = Pipeline.__new__(Pipeline)
    pipeline.config = config
    served = pipeline.rule_for(top_k=3)
    assert served.max_skills == 3 and not served.cap_per_sentence and served.skills_per_100_words == 0


def test_the_shipped_rule_folds_near_duplicates_of_one_phrase():
    from sea_core.output_set import SHIPPED_FOLD_SIMILARITY

    vectors = np.eye(3, dtype=np.float32)
    vectors[1] = [0.8, 0.6, 0.0]  # cosine 0.8 with row 0: above the shipped 0.75
    candidates = [cand(0, 0.8, 7, 13), cand(1, 0.79, 7, 13), cand(2, 0.78, 7, 13)]
    assert SHIPPED_RULE.fold_similarity == SHIPPED_FOLD_SIMILARITY == 0.75
    suggestions = SHIPPED_RULE.apply(candidates, TEXT, vectors)
    assert [s.candidate.row for s in suggestions] == [0, 2] and suggestions[0].alternatives[0].row == 1
    assert rows(SHIPPED_RULE.select(candidates, TEXT)) == [0, 1, 2]  # no vectors: nothing folded


def test_a_plain_ranking_is_not_folded():
    vectors = np.eye(3, dtype=np.float32)
    vectors[1] = [0.8, 0.6, 0.0]
    candidates = [cand(0, 0.8, 7, 13), cand(1, 0.79, 7, 13), cand(2, 0.78, 7, 13)]
    plain = replace(SHIPPED_RULE, min_confidence=0.0)
    assert [s.alternatives for s in plain.apply(candidates, TEXT, vectors)] == [(), (), ()]
    assert rows(plain.select(candidates, TEXT, vectors)) == [0, 1, 2]


def test_the_shipped_rule_grows_its_cap_with_long_texts():
    assert SHIPPED_RULE.skills_per_100_words > 0
    assert SHIPPED_RULE.cap(0) == SHIPPED_RULE.max_skills


# -- negative path ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [
        {"max_skills": -1},
        {"min_skills": -1},
        {"relative_margin": -0.1},
        {"fold_similarity": 1.5},
        {"fold_similarity": -0.1},
        {"skills_per_100_words": -1.0},
        {"cap_per_sentence": "yes"},
    ],
)
def test_invalid_rules_are_rejected(values):
    with pytest.raises(ValueError):
        OutputRule(**values)


def test_unknown_settings_are_named():
    with pytest.raises(ValueError, match="threshold"):
        OutputRule.from_dict({"threshold": 0.5})


def test_same_skill_vectors_but_different_phrases_do_not_fold():
    vectors = np.ones((2, 2), dtype=np.float32) / np.sqrt(2)
    candidates = [cand(0, 0.8, 7, 13), cand(1, 0.79, 29, 33)]
    assert len(fold_near_duplicates(candidates, vectors, 0.5)) == 2


# -- edge cases -------------------------------------------------------------------------------
def test_no_candidates_give_no_suggestions():
    assert OutputRule(min_skills=2).apply([], TEXT) == []


def test_threshold_zero_gives_a_plain_ranking():
    candidates = [cand(i, 0.1 * (9 - i), 7, 13) for i in range(6)]
    assert rows(OutputRule(min_confidence=0, max_skills=4).select(candidates, TEXT)) == [0, 1, 2, 3]


def test_the_floor_keeps_the_best_whatever_its_confidence():
    candidates = [cand(0, 0.2), cand(1, 0.1)]
    assert rows(SHIPPED_RULE.select(candidates, TEXT)) == []
    assert rows(OutputRule(min_skills=1).select(candidates, TEXT)) == [0]


def test_folding_is_skipped_without_vectors():
    candidates = [cand(0, 0.8, 7, 13), cand(1, 0.79, 7, 13)]
    assert rows(OutputRule(fold_similarity=0.5).select(candidates, TEXT)) == [0, 1]


# -- boundary cases ---------------------------------------------------------------------------
def test_threshold_and_margin_are_inclusive():
    candidates = [cand(0, 0.51), cand(1, 0.45)]
    assert rows(OutputRule(0.45, 0.06).select(candidates, TEXT)) == [0, 1]
    assert rows(OutputRule(0.46, 0.06).select(candidates, TEXT)) == [0]
    assert rows(OutputRule(0.45, 0.05).select(candidates, TEXT)) == [0]


@pytest.mark.parametrize(("words", "cap"), [(183, 10), (184, 11), (200, 12), (0, 10)])
def test_the_long_text_cap_rounds_down_and_never_goes_below_max_skills(words, cap):
    assert OutputRule(max_skills=10, skills_per_100_words=6.0).cap(words) == cap


def test_the_cap_is_exact():
    candidates = [cand(i, 0.9 - 0.001 * i) for i in range(5)]
    assert len(OutputRule(max_skills=3).select(candidates, TEXT)) == 3
    assert OutputRule(max_skills=0).select(candidates, TEXT) == []


def test_fold_similarity_is_inclusive_and_alternatives_are_capped():
    vectors = np.ones((MAX_ALTERNATIVES + 3, 2), dtype=np.float32) / np.sqrt(2)
    candidates = [cand(i, 0.9 - 0.01 * i, 7, 13) for i in range(len(vectors))]
    suggestions = fold_near_duplicates(candidates, vectors, 1.0 - 1e-6)
    assert len(suggestions) == 1
    assert len(suggestions[0].alternatives) == MAX_ALTERNATIVES
