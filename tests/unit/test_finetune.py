"""Contrastive fine-tuning (sea_core.finetune): the training rows built from reviews and the
taxonomy and the batches (no duplicate positive, one width per batch). Runs of the tiny encoder
are in tests/functional/test_finetune_training.py."""

import pytest

from sea_core.finetune import (
    FineTuneParams,
    ReviewedText,
    TrainExample,
    contrastive_batches,
    first_sentence,
    review_examples,
    taxonomy_examples,
)
from sea_core.taxonomy import Skill, Taxonomy

SKILLS = [
    Skill("python", alt_labels=("python programming",)),
    Skill("data analysis", description="Analyse data. Report findings."),
    Skill("welding", alt_labels=("weld",)),
    Skill("accounting", alt_labels=("bookkeeping",)),
    Skill("sql"),
]
TAX = Taxonomy(SKILLS)
PY, DA, WELD, ACC, SQL = (s.skill_id for s in SKILLS)


def rows(n, width=2):
    return [TrainExample(tuple(f"t{i}-{j}" for j in range(width))) for i in range(n)]


# -- happy path -------------------------------------------------------------------------------
def test_reviews_give_text_and_phrase_anchors_with_rejected_hard_negatives():
    review = ReviewedText(
        "we use python for data analysis", (PY, DA), rejected=(WELD,), phrases=((PY, "python"),)
    )
    examples = review_examples([review], TAX)
    assert [e.texts for e in examples] == [
        ("we use python for data analysis", "python", "welding"),
        ("python", "python", "welding"),
        ("we use python for data analysis", "data analysis", "welding"),
    ]


def test_taxonomy_rows_pair_alt_labels_or_first_description_sentence_with_titles():
    examples = taxonomy_examples(TAX, 10, seed=1)
    pairs = {e.texts for e in examples}
    assert ("Analyse data.", "data analysis") in pairs
    assert all(e.source == "taxonomy" and e.texts[0] != e.texts[1] for e in examples)
    assert taxonomy_examples(TAX, 10, seed=1) == examples


def test_batches_never_repeat_a_positive_and_keep_one_width():
    examples = rows(5) + [TrainExample(("a", "t0-1"))] + rows(4, width=3)
    batches = contrastive_batches(examples, batch_size=4, max_steps=20, seed=3)
    assert len(batches) == 20
    for batch in batches:
        assert len(batch) >= 2
        assert len({len(r.texts) for r in batch}) == 1
        assert len({r.texts[1] for r in batch}) == len(batch)
    assert batches == contrastive_batches(examples, batch_size=4, max_steps=20, seed=3)


# -- negative path ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values", [{"max_steps": 0}, {"batch_size": 1}, {"taxonomy_pairs": -1}, {"review_repeats": 0}]
)
def test_invalid_params_are_rejected(values):
    with pytest.raises(ValueError):
        FineTuneParams(**values)


# -- edge cases -------------------------------------------------------------------------------
def test_skills_missing_from_the_taxonomy_are_skipped():
    gone = Skill("removed skill").skill_id
    review = ReviewedText("text", (gone, PY), rejected=(gone,))
    assert [e.texts for e in review_examples([review], TAX)] == [("text", "python")]


def test_a_review_of_html_trains_on_the_text_the_model_reads():
    review = ReviewedText("<p>python&amp;more</p>", (PY,))
    assert [e.texts for e in review_examples([review], TAX)] == [("\n  python&    more\n   ", "python")]


def test_a_review_with_nothing_confirmed_gives_no_rows():
    assert review_examples([ReviewedText("text", (), rejected=(PY,))], TAX) == []


def test_one_row_of_each_width_makes_no_batch():
    assert contrastive_batches([TrainExample(("a", "p")), TrainExample(("x", "y", "z"))], 4, 10, 0) == []


# -- boundary cases ---------------------------------------------------------------------------
def test_batches_are_capped_at_the_step_count_and_the_batch_size():
    batches = contrastive_batches(rows(9), batch_size=4, max_steps=5, seed=0)
    assert len(batches) == 5 and max(len(b) for b in batches) == 4


def test_two_distinct_positives_are_the_least_that_trains():
    assert contrastive_batches([TrainExample(("a", "p")), TrainExample(("b", "p"))], 4, 3, 0) == []
    assert len(contrastive_batches(rows(2), 4, 3, 0)) == 3


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Plan the work. Then do it.", "Plan the work."),  # happy
        ("Really?  Yes!", "Really?"),  # "?" and a run of spaces
        ("  No terminator at all  ", "No terminator at all"),  # edge: one sentence, stripped
        ("Use version 3.5 daily. Done.", "Use version 3.5 daily."),  # boundary: a dot inside a word
        ("", ""),  # edge: empty
    ],
)
def test_first_sentence_ends_at_the_first_whitespace_after_a_terminator(text, first):
    assert first_sentence(text) == first
