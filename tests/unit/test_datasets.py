"""Data checksums, data versions and CSV splits (happy, negative, edge, boundary)."""

import pytest

from mlops.adapters.store.local import LocalStore
from mlops.datasets import data_checksum, data_version, read_csv_dataset, write_csv_dataset

ROWS = [
    {"anchor": "python", "positive": "programming"},
    {"anchor": "excel", "positive": "spreadsheets"},
    {"anchor": "sql", "positive": "databases"},
]


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "store")


# -- checksum: happy path -----------------------------------------------------------------
def test_checksum_is_sha256_hex_and_deterministic():
    checksum = data_checksum(ROWS)
    # registry records remember data versions by this value: it must never change
    assert checksum == "f20ba9685336598694da8658faac1e85eac5791b65311dad29a0526384225fbe"
    assert data_checksum([dict(r) for r in ROWS]) == checksum


def test_checksum_ignores_row_order_unless_ordered():
    reordered = list(reversed(ROWS))
    assert data_checksum(reordered) == data_checksum(ROWS)
    assert data_checksum(reordered, ordered=True) != data_checksum(ROWS, ordered=True)


def test_checksum_ignores_key_order_within_a_row():
    swapped = [{"positive": r["positive"], "anchor": r["anchor"]} for r in ROWS]
    assert data_checksum(swapped) == data_checksum(ROWS)


def test_checksum_changes_with_content():
    changed = ROWS[:2] + [{"anchor": "sql", "positive": "database"}]
    assert data_checksum(changed) != data_checksum(ROWS)


def test_sequence_rows_and_generators_are_accepted():
    assert data_checksum(iter([("a", 1), ["b", 2]])) == data_checksum([["b", 2], ["a", 1]])


# -- checksum: negative path --------------------------------------------------------------
@pytest.mark.parametrize("row", ["a,b", b"a,b", 42, None])
def test_rows_that_are_not_mappings_or_sequences_are_rejected(row):
    with pytest.raises(TypeError, match="mapping or a sequence"):
        data_checksum([row])


def test_unserialisable_values_are_rejected():
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        data_checksum([{"a": object()}])
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        data_checksum([{"a": float("nan")}])


# -- checksum: edge and boundary cases ----------------------------------------------------
def test_duplicates_count():
    assert data_checksum(ROWS + ROWS[:1]) != data_checksum(ROWS)


def test_types_matter():
    assert data_checksum([{"a": 1}]) != data_checksum([{"a": "1"}])


def test_empty_data_sets_are_stable_and_differ_from_one_empty_row():
    assert data_checksum([]) == data_checksum([])
    assert data_checksum([]) != data_checksum([{}])
    assert data_checksum([], ordered=True) != data_checksum([])


def test_single_row_unicode():
    row = [{"skill": "数据分析", "level": "é"}]
    assert data_checksum(row) == data_checksum([dict(row[0])])
    assert data_checksum(row) != data_checksum([{"skill": "数据分析", "level": "e"}])


def test_large_data_set():
    rows = ({"i": i, "text": f"row {i}"} for i in range(50_000))
    assert data_checksum(rows) == data_checksum({"i": i, "text": f"row {i}"} for i in reversed(range(50_000)))


# -- data version -------------------------------------------------------------------------
def test_first_data_set_is_1_0_0():
    assert data_version(data_checksum(ROWS)) == "1.0.0"
    assert data_version("abc", {}) == "1.0.0"


def test_known_content_keeps_its_version():
    assert data_version("c2", {"c1": "1.0.0", "c2": "1.1.0"}) == "1.1.0"


def test_new_content_bumps_the_highest_known_version():
    known = {"c1": "1.9.0", "c2": "1.10.0"}
    assert data_version("c3", known) == "1.11.0"
    assert data_version("c3", known, kind="patch") == "1.10.1"
    assert data_version("c3", known, kind="major") == "2.0.0"


def test_old_unparseable_versions_are_skipped_not_rejected():
    assert data_version("new", {"c1": "v-legacy", "c2": "1.0.0"}) == "1.1.0"
    assert data_version("new", {"c1": "v-legacy"}) == "1.0.0"


@pytest.mark.parametrize("checksum", ["", None, 12])
def test_data_version_needs_a_checksum(checksum):
    with pytest.raises(ValueError, match="checksum"):
        data_version(checksum)


def test_data_version_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown bump kind"):
        data_version("new", {"c": "1.0.0"}, kind="huge")


# -- CSV splits ---------------------------------------------------------------------------
def test_write_csv_returns_checksum_and_count_verifiable_from_the_store(store):
    checksum, count = write_csv_dataset(store, "data/train_set.csv", ROWS)
    assert count == 3
    rows = read_csv_dataset(store, "data/train_set.csv")
    assert rows == ROWS
    assert data_checksum(rows) == checksum == data_checksum(ROWS)


def test_csv_cells_are_strings_and_quoting_survives(store):
    rows = [{"text": 'comma, "quote"\nnewline', "n": 7, "none": None}]
    checksum, count = write_csv_dataset(store, "q.csv", rows)
    back = read_csv_dataset(store, "q.csv")
    assert back == [{"text": 'comma, "quote"\nnewline', "n": "7", "none": ""}]
    assert (checksum, count) == (data_checksum(back), 1)


def test_sequence_rows_without_header(store):
    checksum, count = write_csv_dataset(store, "s.csv", [["a", 1], ["b", 2]])
    assert store.get_bytes("s.csv") == b"a,1\r\nb,2\r\n"
    assert read_csv_dataset(store, "s.csv", header=False) == [["a", "1"], ["b", "2"]]
    assert (checksum, count) == (data_checksum([["a", "1"], ["b", "2"]]), 2)


def test_fieldnames_choose_columns_and_order(store):
    write_csv_dataset(store, "f.csv", [{"b": 2, "a": 1}], fieldnames=["a", "b"])
    assert store.get_bytes("f.csv").splitlines()[0] == b"a,b"


def test_row_with_a_column_not_in_the_header_is_rejected(store):
    with pytest.raises(ValueError, match=r"\['extra'\] not in the header"):
        write_csv_dataset(store, "bad.csv", [{"a": 1}, {"a": 2, "extra": 3}])
    assert not store.exists("bad.csv")


def test_bad_row_type_is_rejected(store):
    with pytest.raises(TypeError, match="mapping or a sequence"):
        write_csv_dataset(store, "bad.csv", ["just a string"])
    assert not store.exists("bad.csv")


def test_empty_split_with_header(store):
    checksum, count = write_csv_dataset(store, "empty.csv", [], fieldnames=["a", "b"])
    assert (checksum, count) == (data_checksum([]), 0)
    assert store.get_bytes("empty.csv") == b"a,b\r\n"
    assert read_csv_dataset(store, "empty.csv") == []


def test_empty_split_without_header(store):
    assert write_csv_dataset(store, "nothing.csv", []) == (data_checksum([]), 0)
    assert store.get_bytes("nothing.csv") == b""


def test_large_split_streams_from_a_generator(store):
    rows = ({"i": i} for i in range(20_000))
    checksum, count = write_csv_dataset(store, "big.csv", rows)
    assert count == 20_000
    assert checksum == data_checksum({"i": str(i)} for i in range(20_000))
    assert store.get_bytes("big.csv").count(b"\n") == 20_001  # header + rows
