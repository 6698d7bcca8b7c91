"""Build data: taxonomy source, training pairs, deterministic splits, the fixed test set."""

from __future__ import annotations

import pytest

from mlops.adapters.store import open_store
from mlops.services.build.config import load_build_config
from mlops.services.build.data import (
    BuildDataError,
    load_pairs,
    pair_key,
    read_pairs,
    resolve_taxonomy,
    save_pairs,
    split_pairs,
    taxonomy_pairs,
)
from tests.unit.build_support import environment, small_taxonomy, write_taxonomy


@pytest.fixture
def store(tmp_path):
    return open_store((tmp_path / "store").as_uri())


def _pairs(n: int, prefix: str = "p") -> list[dict]:
    return [
        {"anchor": f"{prefix} anchor {i}", "candidate": f"candidate {i}", "label": i % 2} for i in range(n)
    ]


def test_taxonomy_pairs_are_deterministic_with_both_labels():
    taxonomy = small_taxonomy(50)
    first = taxonomy_pairs(taxonomy, seed=1, max_pairs=10_000)
    assert first == taxonomy_pairs(taxonomy, seed=1, max_pairs=10_000)
    assert {p["label"] for p in first} == {0, 1}
    skill = taxonomy[0]
    assert {"anchor": skill.alt_labels[0], "candidate": skill.title, "label": 1} in first


def test_taxonomy_pairs_respect_the_cap():
    assert len(taxonomy_pairs(small_taxonomy(50), seed=1, max_pairs=7)) == 7


def test_taxonomy_without_alt_labels_gives_no_pairs():
    from sea_core.taxonomy import Skill, Taxonomy

    assert taxonomy_pairs(Taxonomy([Skill("a"), Skill("b")]), seed=1, max_pairs=10) == []


def test_split_stores_the_test_set_once_and_keeps_it_out_of_training(store):
    config = load_build_config(test_fraction=0.2, val_fraction=0.2)
    pairs = _pairs(400)
    splits = split_pairs(pairs, store, config)
    assert splits.test_created and store.exists(splits.test_key)
    assert splits.test_key == f"datasets/test/{splits.test_checksum}.csv"
    test_keys = {pair_key(p) for p in splits.test}
    assert not test_keys & {pair_key(p) for p in splits.train + splits.val}
    assert len(splits.train) + len(splits.val) + len(splits.test) == 400
    assert read_pairs(store, splits.test_key) == sorted(splits.test, key=pair_key)


def test_new_data_reuses_the_stored_test_set(store):
    config = load_build_config(test_fraction=0.2)
    first = split_pairs(_pairs(300), store, config)
    more = _pairs(300) + _pairs(300, prefix="new")
    again = split_pairs(more, store, config, test_key=first.test_key)
    assert not again.test_created
    assert again.test_key == first.test_key and again.test_checksum == first.test_checksum
    assert {pair_key(p) for p in again.test} == {pair_key(p) for p in first.test}
    assert len(again.train) + len(again.val) == 600 - len(first.test)


def test_split_is_deterministic(store, tmp_path):
    config = load_build_config()
    other = open_store((tmp_path / "other").as_uri())
    a, b = split_pairs(_pairs(500), store, config), split_pairs(list(reversed(_pairs(500))), other, config)
    assert a.test_checksum == b.test_checksum
    assert sorted(map(pair_key, a.train)) == sorted(map(pair_key, b.train))


def test_test_set_with_one_class_is_refused(store):
    pairs = [{"anchor": f"a{i}", "candidate": "c", "label": 1} for i in range(200)]
    with pytest.raises(BuildDataError, match="positive and negative"):
        split_pairs(pairs, store, load_build_config())


def test_train_is_capped(store):
    splits = split_pairs(_pairs(1000), store, load_build_config(max_train_pairs=50))
    assert len(splits.train) == 50


def test_save_pairs_is_content_addressed(store):
    key, checksum = save_pairs(store, "train", _pairs(10))
    assert key.endswith(f"{checksum}.csv")
    assert save_pairs(store, "train", list(reversed(_pairs(10))))[0] == key


def test_taxonomy_comes_from_the_warehouse_newest_version(tmp_path):
    _, warehouse, _ = environment(tmp_path)
    write_taxonomy(warehouse, small_taxonomy(20, version="v1"), created_at="2026-01-01T00:00:00")
    write_taxonomy(warehouse, small_taxonomy(30, version="v2"), created_at="2026-02-01T00:00:00")
    taxonomy, source = resolve_taxonomy(warehouse)
    assert (source, taxonomy.version, len(taxonomy)) == ("warehouse", "v2", 30)
    assert taxonomy.checksum == small_taxonomy(30, version="v2").checksum


def test_taxonomy_falls_back_to_bundled_esco(tmp_path):
    _, warehouse, _ = environment(tmp_path)
    taxonomy, source = resolve_taxonomy(warehouse)
    assert source == "bundled" and len(taxonomy) > 10_000


def test_pairs_come_from_the_warehouse_table_as_it_is(tmp_path):
    _, warehouse, _ = environment(tmp_path)
    rows = [
        (
            f"id{i}",
            f"anchor {i}",
            f"cand {i}",
            float(i % 2),
            "feedback",
            None,
            None,
            "1.0.0",
            "2026-01-01T00:00:00",
        )
        for i in range(20)
    ]
    warehouse.executemany(
        "INSERT INTO training_pairs (pair_id, anchor, candidate, label, source, "
        "request_id, skill_id, data_version, created_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    found = load_pairs(warehouse, small_taxonomy(10), load_build_config(), refresh=False)
    assert found.source.startswith("warehouse:training_pairs") and len(found.pairs) == 20
    assert {p["label"] for p in found.pairs} == {0, 1}


def test_refresh_builds_a_versioned_snapshot_in_the_warehouse(tmp_path):
    _, warehouse, _ = environment(tmp_path)
    taxonomy = small_taxonomy(10)
    found = load_pairs(warehouse, taxonomy, load_build_config())
    assert found.data_version == "1.0.0" and found.data_checksum
    assert found.source == "warehouse:training_pairs@1.0.0"
    stored = warehouse.scalar("SELECT COUNT(*) FROM training_pairs WHERE data_version = '1.0.0'")
    assert stored >= len(found.pairs) > 0
    again = load_pairs(warehouse, taxonomy, load_build_config())
    assert (again.data_version, again.data_checksum) == (found.data_version, found.data_checksum)


def test_pairs_fall_back_to_the_taxonomy(tmp_path):
    _, warehouse, _ = environment(tmp_path)
    found = load_pairs(warehouse, small_taxonomy(10), load_build_config(), refresh=False)
    assert found.source == "taxonomy" and found.pairs and found.data_version is None
    assert load_pairs(None, small_taxonomy(10), load_build_config()).source == "taxonomy"
