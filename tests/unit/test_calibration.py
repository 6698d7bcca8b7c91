"""Fitting the output rule on reviewed examples (sea_core.calibration): what it learns, and how
tiny data (none, one, all rejected) falls back to the shipped rule and says so."""

import pytest

from sea_core.calibration import MIN_EXAMPLES, ReviewedExample, RuleGrid, fit_output_rule, rule_score
from sea_core.matching import Candidate
from sea_core.output_set import SHIPPED_RULE, OutputRule

IDS = [f"skill-{i}" for i in range(6)]


def example(confidences, confirmed_rows, text="one sentence"):
    candidates = tuple(Candidate(row=i, confidence=c) for i, c in enumerate(confidences))
    return ReviewedExample(text, candidates, frozenset(IDS[r] for r in confirmed_rows))


# texts whose right answer is the single best candidate, though the shipped rule shows three
ONE_WINNER = [example([0.70, 0.68, 0.66, 0.40], [0]) for _ in range(MIN_EXAMPLES)]


# -- happy path -------------------------------------------------------------------------------
def test_the_fitted_rule_beats_the_shipped_rule_on_its_examples():
    fitted = fit_output_rule(ONE_WINNER, IDS)
    assert not fitted.fell_back
    assert fitted.default_score == pytest.approx(1 / 3)
    assert fitted.fitted_score == pytest.approx(1.0)
    assert rule_score(fitted.rule, ONE_WINNER, IDS) == pytest.approx(fitted.fitted_score)
    assert fitted.rule != SHIPPED_RULE and fitted.default_rule == SHIPPED_RULE


def test_fitting_is_deterministic():
    assert fit_output_rule(ONE_WINNER, IDS) == fit_output_rule(list(ONE_WINNER), IDS)


def test_the_record_is_plain_json():
    record = fit_output_rule(ONE_WINNER, IDS).to_dict()
    assert record["metric"] == "jaccard" and record["n_examples"] == MIN_EXAMPLES
    assert OutputRule.from_dict(record["rule"]).max_skills == 1 or record["rule"]["min_confidence"] > 0.68


# -- negative path / tiny data ----------------------------------------------------------------
def test_no_reviews_keep_the_shipped_rule_and_say_so():
    fitted = fit_output_rule([], IDS)
    assert fitted.fell_back and fitted.rule == SHIPPED_RULE
    assert fitted.n_examples == 0 and "0 reviewed" in fitted.reason


def test_one_review_keeps_the_shipped_rule():
    fitted = fit_output_rule(ONE_WINNER[:1], IDS)
    assert fitted.fell_back and fitted.rule == SHIPPED_RULE
    assert fitted.fitted_score == fitted.default_score == pytest.approx(1 / 3)


def test_all_rejected_reviews_keep_the_shipped_rule():
    rejected = [example([0.70, 0.68], []) for _ in range(MIN_EXAMPLES + 2)]
    fitted = fit_output_rule(rejected, IDS)
    assert fitted.fell_back and fitted.rule == SHIPPED_RULE and "all rejected" in fitted.reason


# -- edge cases -------------------------------------------------------------------------------
def test_when_nothing_beats_the_shipped_rule_it_is_kept_without_falling_back():
    perfect = [example([0.70, 0.40], [0]) for _ in range(MIN_EXAMPLES)]
    fitted = fit_output_rule(perfect, IDS)
    assert not fitted.fell_back and fitted.rule == SHIPPED_RULE
    assert fitted.fitted_score == fitted.default_score == 1.0


def test_a_custom_default_and_grid_are_used():
    default = OutputRule(min_confidence=0.9)
    grid = RuleGrid(
        min_confidence=(0.69,),
        relative_margin=(0.0,),
        max_skills=(10,),
        min_skills=(0,),
        fold_similarity=(0.0,),
    )
    fitted = fit_output_rule(ONE_WINNER, IDS, default=default, grid=grid)
    assert fitted.default_rule == default and fitted.rule == grid.rules()[0]


def test_a_low_threshold_is_learned_for_texts_whose_skills_score_low():
    low = [example([0.30, 0.20], [0]) for _ in range(MIN_EXAMPLES)]
    fitted = fit_output_rule(low, IDS)
    assert fitted.default_score == 0.0 and fitted.fitted_score == 1.0
    assert fitted.rule.min_confidence <= 0.30 and fitted.rule.min_skills == 0


def test_the_default_grid_has_no_floor_and_a_grid_with_one_learns_it():
    assert RuleGrid().min_skills == (0,) and len(RuleGrid().rules()) == 675
    below_every_threshold = [example([0.20, 0.10], [0], text=f"low {i}") for i in range(MIN_EXAMPLES)]
    grid_only = fit_output_rule(below_every_threshold, IDS, acceptance=False)
    assert grid_only.rule == SHIPPED_RULE  # nothing in the grid helps
    with_floor = fit_output_rule(
        below_every_threshold, IDS, grid=RuleGrid(min_skills=(0, 1)), acceptance=False
    )
    assert with_floor.rule.min_skills == 1 and with_floor.fitted_score == 1.0


def test_a_plain_ranking_is_scored_unfolded_as_it_is_served():
    import numpy as np

    vectors = np.eye(6, dtype=np.float32)
    vectors[1] = vectors[0]  # skills 0 and 1 are near-duplicates
    texts = [
        ReviewedExample(
            "one sentence",
            (
                Candidate(row=0, confidence=0.7, phrase_start=0, phrase_end=3),
                Candidate(row=1, confidence=0.6, phrase_start=0, phrase_end=3),
            ),
            frozenset(IDS[:2]),
        )
    ]
    plain = OutputRule(min_confidence=0.0, fold_similarity=0.75)
    served = plain.select(texts[0].candidates, texts[0].text, vectors)
    assert [c.row for c in served] == [0, 1]  # a plain ranking is not folded when served ...
    assert rule_score(plain, texts, IDS, vectors) == pytest.approx(1.0)  # ... nor when scored


# -- boundary cases ---------------------------------------------------------------------------
def test_exactly_the_minimum_number_of_reviews_is_fitted():
    assert fit_output_rule(ONE_WINNER[: MIN_EXAMPLES - 1], IDS).fell_back
    assert not fit_output_rule(ONE_WINNER[:MIN_EXAMPLES], IDS).fell_back


def test_the_grid_holds_every_combination():
    grid = RuleGrid(
        min_confidence=(0.4, 0.5),
        relative_margin=(0.0, 0.1, 1.0),
        max_skills=(1, 3),
        min_skills=(0,),
        fold_similarity=(0.0, 0.8),
    )
    assert len(grid.rules()) == len(set(grid.rules())) == 2 * 3 * 2 * 1 * 2


def test_a_grid_gain_that_one_text_alone_shows_keeps_the_shipped_rule():
    """Fitting must pay on texts it was not fitted on (inner cross-validation): a rule that
    helps a single text beats the shipped rule on all the texts, but never on held-out ones."""
    texts = [example([0.70, 0.40], [0], text=f"plain {i}") for i in range(9)]
    lucky = example([0.70, 0.68, 0.66], [0], text="lucky")
    fitted = fit_output_rule(texts + [lucky], IDS, acceptance=False)
    assert not fitted.fell_back and fitted.rule == SHIPPED_RULE
    assert fitted.cv_gain == pytest.approx(0.0) and "cross-validation" in fitted.reason
    assert rule_score(OutputRule(max_skills=1), texts + [lucky], IDS) > fitted.default_score


def test_inner_folds_are_balanced_and_follow_the_text():
    from sea_core.calibration import inner_folds

    many = [example([0.5], [0], text=f"text {i}") for i in range(12)]
    folds = inner_folds(many, 5)
    assert sorted(folds.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4]
    assert inner_folds(list(reversed(many)), 5).tolist() == list(reversed(folds.tolist()))
    assert inner_folds(many[:2], 5).tolist() in ([0, 1], [1, 0])


# -- a grid gain must be steady across the texts (paired t) --------------------------------------
def _plain_and_lucky(lucky_count, total=40):
    """`total` texts the shipped rule gets right, `lucky_count` of them replaced by texts with
    two close winners of which only the first is right (a one-skill cap fixes those)."""
    plain = [example([0.70, 0.40], [0], text=f"plain {i}") for i in range(total - lucky_count)]
    lucky = [example([0.70, 0.68], [0], text=f"lucky {i}") for i in range(lucky_count)]
    return plain + lucky


def test_a_grid_gain_carried_by_a_few_texts_is_not_steady_and_keeps_the_shipped_rule():
    from sea_core.calibration import MIN_GAIN, MIN_T, inner_folds

    texts = _plain_and_lucky(3)
    folds = inner_folds(texts)
    assert len({folds[i] for i in range(37, 40)}) >= 2  # the lucky texts teach each other
    fitted = fit_output_rule(texts, IDS, acceptance=False)
    assert fitted.cv_gain is not None and fitted.cv_gain >= MIN_GAIN  # big enough on average ...
    assert fitted.cv_t is not None and fitted.cv_t < MIN_T  # ... but 3 texts of 40 carry it
    assert fitted.rule == SHIPPED_RULE and "not steady" in fitted.reason
    assert fit_output_rule(texts, IDS, min_t=0.0, acceptance=False).rule != SHIPPED_RULE  # no bar: fitted


def test_a_gain_many_texts_share_is_fitted_and_recorded_with_its_t():
    fitted = fit_output_rule(_plain_and_lucky(15), IDS)
    assert fitted.rule != SHIPPED_RULE and fitted.cv_t is not None and fitted.cv_t >= 2.0
    record = fitted.to_dict()
    assert record["cv_t"] == round(fitted.cv_t, 3) and "t " in fitted.reason


def test_paired_t_of_tiny_and_spread_free_gains():
    import numpy as np

    from sea_core.calibration import T_CLAMP, paired_t

    assert paired_t(np.array([])) == 0.0
    assert paired_t(np.array([0.5])) == 0.0  # one text: no spread to judge by
    assert paired_t(np.zeros(5)) == 0.0
    assert paired_t(np.full(5, 0.2)) == T_CLAMP  # steady without spread: clamped, JSON-safe
    assert paired_t(np.full(5, -0.2)) == -T_CLAMP
    assert paired_t(np.array([0.0, 0.2, 0.4])) == pytest.approx(0.2 / (0.2 / np.sqrt(3)))


# -- the acceptance model (sea_core.acceptance) as the second procedure -------------------------
def _phrase_beats_text(count, start=0):
    """Texts whose whole-text candidate scores highest but is wrong; the phrase's candidate is
    right. No grid rule (thresholds see confidences only) separates them; an acceptance model
    (which sees whether a candidate has a phrase) does."""
    out = []
    for i in range(start, start + count):
        candidates = (
            Candidate(row=0, confidence=0.70, text_similarity=0.7),
            Candidate(
                row=1,
                confidence=0.60 + 0.001 * (i % 7),
                span_similarity=0.6,
                phrase="sql",
                phrase_start=4,
                phrase_end=7,
            ),
        )
        out.append(ReviewedExample(f"use sql daily {i}", candidates, frozenset({IDS[1]})))
    return out


def test_an_acceptance_model_is_fitted_where_no_grid_rule_helps():
    texts = _phrase_beats_text(12)
    fitted = fit_output_rule(texts, IDS)
    assert fitted.procedure == "acceptance" and fitted.rule.acceptance is not None
    assert fitted.default_score == pytest.approx(0.5) and fitted.fitted_score == pytest.approx(1.0)
    assert fitted.acceptance_cv_gain == pytest.approx(0.5) and fitted.cv_gain == pytest.approx(0.0)
    assert rule_score(fitted.rule, _phrase_beats_text(5, start=100), IDS) == pytest.approx(1.0)  # new texts
    record = fitted.to_dict()
    assert record["procedure"] == "acceptance" and OutputRule.from_dict(record["rule"]) == fitted.rule


def test_without_the_acceptance_procedure_the_grid_alone_decides():
    fitted = fit_output_rule(_phrase_beats_text(12), IDS, acceptance=False)
    assert fitted.rule == SHIPPED_RULE and fitted.procedure == "shipped"
    assert fitted.acceptance_cv_gain is None and "grid: no rule beats" in fitted.reason


def test_a_plain_ranking_default_gets_no_acceptance_model():
    fitted = fit_output_rule(_phrase_beats_text(12), IDS, default=OutputRule(min_confidence=0.0))
    assert fitted.rule.acceptance is None and fitted.acceptance_cv_gain is None


def test_the_acceptance_bar_is_exclusive():
    texts = _phrase_beats_text(12)
    gain = fit_output_rule(texts, IDS).acceptance_cv_gain
    assert gain is not None
    kept = fit_output_rule(texts, IDS, acceptance_min_gain=gain - 1e-6)
    at_bar = fit_output_rule(texts, IDS, acceptance_min_gain=gain)
    assert kept.procedure == "acceptance"
    assert at_bar.rule == SHIPPED_RULE and "acceptance: gains" in at_bar.reason


def test_a_refit_starts_from_a_rule_that_already_has_an_acceptance_model():
    first = fit_output_rule(_phrase_beats_text(12), IDS).rule
    again = fit_output_rule(_phrase_beats_text(12, start=50), IDS, default=first)
    assert again.default_rule == first and again.default_score == pytest.approx(1.0)
    assert again.rule == first  # nothing beats a perfect rule: it is kept
