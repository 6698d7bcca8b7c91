"""Review suggestions grouped by evidence phrase, near-duplicates as alternatives of one
suggestion (`mlops.entrypoints.ui.review_state`), and the bulk/keyboard decisions on them."""

from __future__ import annotations

import pytest

from mlops.entrypoints.ui.review_state import (
    ACCEPT,
    REJECT,
    ReviewItem,
    group_suggestions,
    title_similarity,
)


def skill(sid: str, title: str, phrase: str, confidence: float) -> dict:
    return {
        "skill_id": sid,
        "title": title,
        "phrase": phrase,
        "confidence": confidence,
        "type": "",
        "tags": [],
    }


SKILLS = [
    skill("pm1", "project management", "manage projects", 0.80),
    skill("pm2", "manage projects", "manage projects", 0.85),
    skill("bud", "budgeting", "manage projects", 0.60),
    skill("py", "Python (computer programming)", "Python", 0.90),
    skill("sql", "SQL", "sql", 0.70),
]


def titles(group) -> list[list[str]]:
    return [[a["title"] for a in s.alternatives] for s in group.suggestions]


# -- happy path -----------------------------------------------------------------------------------
def test_near_duplicates_of_one_phrase_become_one_suggestion_best_first():
    groups = group_suggestions(SKILLS)
    assert [g.phrase for g in groups] == ["Python", "manage projects", "sql"]
    assert titles(groups[1]) == [["manage projects", "project management"], ["budgeting"]]
    assert titles(groups[0]) == [["Python (computer programming)"]]


def test_similar_titles_score_high_and_different_ones_low():
    assert title_similarity("project management", "manage projects") == 1.0
    assert title_similarity("data analysis", "data analytics") == 1.0
    assert title_similarity("data analysis", "data mining") < 0.5
    assert title_similarity("Python", "Java programming") == 0.0


def test_accepting_a_suggestion_keeps_one_alternative_and_rejects_the_rest():
    item = ReviewItem("r", "1.0.0", "text", SKILLS)
    merged = item.suggestions[1]
    item.decide_suggestion(merged, ACCEPT, pick="pm1")
    assert item.decisions == {"pm1": ACCEPT, "pm2": REJECT}
    assert item.decision_of(merged) == ACCEPT and item.picked(merged) == "pm1"
    item.decide_suggestion(merged, REJECT)
    assert item.decisions == {"pm1": REJECT, "pm2": REJECT} and item.decision_of(merged) == REJECT


def test_accept_and_reject_all_remaining():
    item = ReviewItem("r", "1.0.0", "text", SKILLS)
    item.decide_suggestion(item.suggestions[0], REJECT)
    assert item.decide_remaining(ACCEPT) == 3
    assert item.accepted == ["pm2", "bud", "sql"]  # the best alternative of the merged one
    assert item.rejected == ["pm1", "py"] and item.undecided == 0
    assert item.decide_remaining(REJECT) == 0  # nothing left


# -- negative path --------------------------------------------------------------------------------
def test_bad_threshold_and_bad_decisions_are_refused():
    with pytest.raises(ValueError, match="threshold"):
        group_suggestions(SKILLS, threshold=0)
    item = ReviewItem("r", "1.0.0", "text", SKILLS)
    with pytest.raises(ValueError, match="decision"):
        item.decide_suggestion(item.suggestions[0], "maybe")
    with pytest.raises(ValueError, match="not an alternative"):
        item.decide_suggestion(item.suggestions[1], ACCEPT, pick="sql")


# -- edge cases -----------------------------------------------------------------------------------
def test_no_skills_no_groups_and_a_single_skill_is_one_suggestion():
    assert group_suggestions([]) == []
    [group] = group_suggestions([SKILLS[4]])
    assert titles(group) == [["SQL"]]


def test_phrases_compare_case_and_space_insensitively_and_missing_phrases_group_together():
    groups = group_suggestions(
        [
            skill("a", "SQL", "SQL  queries", 0.5),
            skill("b", "SQL databases", "sql queries", 0.4),
            skill("c", "Teamwork", "", 0.3),
            skill("d", "Leadership", None, 0.2),
        ]
    )
    assert [g.phrase for g in groups] == ["SQL queries", ""]
    assert titles(groups[0]) == [["SQL", "SQL databases"]]
    assert titles(groups[1]) == [["Teamwork"], ["Leadership"]]


def test_a_bridging_title_joins_two_clusters_into_one():
    groups = group_suggestions(
        [
            skill("a", "data analysis", "data", 0.9),
            skill("b", "data mining", "data", 0.8),
            skill("c", "data mining analysis", "data", 0.7),
        ]
    )
    assert titles(groups[0]) == [["data analysis", "data mining", "data mining analysis"]]


# -- boundaries -----------------------------------------------------------------------------------
def test_threshold_boundary():
    pair = [skill("a", "data analysis", "x", 0.9), skill("b", "data mining", "x", 0.8)]  # similarity 1/3
    assert len(group_suggestions(pair, threshold=1 / 3)[0].suggestions) == 1
    assert len(group_suggestions(pair, threshold=1 / 3 + 1e-9)[0].suggestions) == 2


def test_the_cursor_moves_to_the_next_undecided_suggestion_wrapping_round():
    from mlops.entrypoints.ui.review_state import next_undecided

    item = ReviewItem("r", "1.0.0", "text", SKILLS)  # suggestions: py, pm, bud, sql
    assert next_undecided(item, 0) == 1
    item.decide_suggestion(item.suggestions[1], ACCEPT)
    assert next_undecided(item, 0) == 2
    assert next_undecided(item, 3) == 0  # wraps
    item.decide_remaining(REJECT)
    assert next_undecided(item, 2) == 2  # all decided: stays
