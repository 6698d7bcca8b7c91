"""The build's reviewed evaluation set (`mlops.services.build.reviews`) over the in-memory
repositories: reading reviews, the hash split's stability, stored snapshots, and the fallback
to the shipped golden set (no reviews, one review, too few, all rejected, a taxonomy change)."""

from __future__ import annotations

import pytest

from mlops.adapters.store.local import LocalStore
from mlops.adapters.warehouse.feedback import Submission
from mlops.adapters.warehouse.predictions import LoggedRequest, LoggedSkill
from mlops.datasets import read_csv_dataset
from mlops.services.build.reviews import (
    GOLDEN_SET,
    MIN_REVIEWED,
    REVIEWED_SET,
    evaluation_set,
    golden_items,
    is_holdout,
    reviewed_requests,
    split_reviewed,
)
from sea_core.pipeline import request_id_for
from sea_core.taxonomy import Taxonomy, bundled_taxonomy
from tests.fakes import MemoryRepositories
from tests.unit.build_support import small_taxonomy

TAXONOMY = small_taxonomy(40)
SKILLS = list(TAXONOMY)


def review(repos: MemoryRepositories, text: str, accepted=(), rejected=(), added=()) -> str:
    """Log a prediction of `accepted` + `rejected` for `text` and a submission deciding them."""
    rid = request_id_for(text)
    repos.state.requests[(rid, "1.0.0")] = LoggedRequest(
        rid, "1.0.0", "dev", "2026-01-01T00:00:00", "2026-01-01", "2026-W01", text, len(text), 1.0, "ok"
    )
    repos.state.skills[(rid, "1.0.0")] = [
        LoggedSkill(i, s.skill_id, s.title, "skill", 0.6, s.title, 1, "[]", None)
        for i, s in enumerate([*accepted, *rejected])
    ]
    repos.state.submissions[(rid, "rita")] = Submission(
        rid,
        "rita",
        "1.0.0",
        "2026-01-02T00:00:00",
        "2026-01-02",
        "2026-W01",
        len(accepted) + len(rejected),
        len(accepted) + len(added),
        len(accepted),
        tuple(s.skill_id for s in accepted),
        tuple(s.skill_id for s in rejected),
        tuple(s.skill_id for s in added),
    )
    return rid


def many(repos: MemoryRepositories, n: int, start: int = 0, confirm: bool = True) -> None:
    for i in range(start, start + n):
        a, b = SKILLS[i % len(SKILLS)], SKILLS[(i + 7) % len(SKILLS)]
        review(
            repos,
            f"text {i}: we need {a.title}",
            accepted=[a] if confirm else [],
            rejected=[b] if confirm else [a, b],
        )


# -- reading reviews ---------------------------------------------------------------------------
def test_reviews_carry_text_confirmed_rejected_and_phrases():
    repos = MemoryRepositories()
    a, b, c = SKILLS[:3]
    rid = review(repos, "Analyse data with care", accepted=[a], rejected=[b], added=[c])
    (only,) = reviewed_requests(repos, TAXONOMY)
    assert (only.request_id, only.text) == (rid, "Analyse data with care")
    assert only.confirmed == {a.skill_id, c.skill_id} and only.rejected == {b.skill_id}
    assert only.phrases == ((a.skill_id, a.title),)  # the added skill had no phrase
    trained = only.training_text()
    assert set(trained.confirmed) == {a.skill_id, c.skill_id} and trained.rejected == (b.skill_id,)


def test_no_reviews_read_as_nothing():
    assert reviewed_requests(MemoryRepositories(), TAXONOMY) == []


def test_a_taxonomy_change_drops_skills_the_build_cannot_serve():
    repos = MemoryRepositories()
    a, b = SKILLS[:2]
    review(repos, "one text", accepted=[a, b])
    newer = Taxonomy([s for s in SKILLS if s.skill_id != b.skill_id], version="t2")
    (only,) = reviewed_requests(repos, newer)
    assert only.confirmed == {a.skill_id}


# -- the split ---------------------------------------------------------------------------------
def test_the_split_depends_on_the_request_id_alone():
    assert is_holdout("abc", 0.25) == is_holdout("abc", 0.25)
    assert not is_holdout("abc", 0.0) and is_holdout("abc", 1.0)


def test_adding_reviews_never_moves_a_text_between_the_slices():
    repos = MemoryRepositories()
    many(repos, 40)
    before = split_reviewed(reviewed_requests(repos, TAXONOMY))
    many(repos, 80, start=40)
    after = split_reviewed(reviewed_requests(repos, TAXONOMY))
    train_ids = {r.request_id for r in after.train}
    holdout_ids = {r.request_id for r in after.holdout}
    assert {r.request_id for r in before.train} <= train_ids
    assert {r.request_id for r in before.holdout} <= holdout_ids
    assert not train_ids & holdout_ids and after.size == 120
    assert 15 <= len(after.holdout) <= 45  # about a quarter


# -- the evaluation set ------------------------------------------------------------------------
def test_enough_reviews_make_the_holdout_the_evaluation_set(tmp_path):
    repos, store = MemoryRepositories(), LocalStore(tmp_path)
    many(repos, MIN_REVIEWED + 10)
    split = split_reviewed(reviewed_requests(repos, TAXONOMY))
    chosen = evaluation_set(split, TAXONOMY, store)
    assert chosen.name == REVIEWED_SET
    assert [i.sentence for i in chosen.items] == [r.text for r in split.holdout]
    assert chosen.key == f"datasets/reviewed/{chosen.checksum}.csv"
    rows = read_csv_dataset(store, chosen.key)
    assert len(rows) == split.size
    assert {r["split"] for r in rows} == {"train", "holdout"}
    assert sum(r["split"] == "holdout" for r in rows) == chosen.holdout == len(split.holdout)
    again = evaluation_set(split, TAXONOMY, store)
    assert (again.key, again.checksum, again.items_checksum) == (
        chosen.key,
        chosen.checksum,
        chosen.items_checksum,
    )
    record = chosen.to_dict()
    assert record["set"] == REVIEWED_SET and record["reviewed"] == MIN_REVIEWED + 10


@pytest.mark.parametrize("n", [0, 1, MIN_REVIEWED - 1])
def test_too_few_reviews_fall_back_to_the_golden_set(tmp_path, n):
    repos, store = MemoryRepositories(), LocalStore(tmp_path)
    many(repos, n)
    taxonomy = bundled_taxonomy()
    chosen = evaluation_set(split_reviewed(reviewed_requests(repos, TAXONOMY)), taxonomy, store, MIN_REVIEWED)
    assert chosen.name == GOLDEN_SET and f"fewer than {MIN_REVIEWED}" in chosen.reason
    assert chosen.items and [i.sentence for i in chosen.items] == [i.sentence for i in golden_items(taxonomy)]
    assert chosen.reviewed == n
    assert (chosen.key is None) == (n == 0)  # reviews are stored even when too few


def test_all_rejected_reviews_fall_back_to_the_golden_set(tmp_path):
    repos = MemoryRepositories()
    many(repos, MIN_REVIEWED + 10, confirm=False)
    chosen = evaluation_set(
        split_reviewed(reviewed_requests(repos, TAXONOMY)), TAXONOMY, LocalStore(tmp_path)
    )
    assert chosen.name == GOLDEN_SET and "no confirmed skill" in chosen.reason


def test_a_taxonomy_without_golden_skills_gives_an_empty_golden_set():
    chosen = evaluation_set(split_reviewed([]), Taxonomy([], version="empty"), None)
    assert chosen.name == GOLDEN_SET and chosen.items == () and chosen.key is None
