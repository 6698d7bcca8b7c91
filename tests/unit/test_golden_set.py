"""The golden set shipped inside the project (sea_core/data/golden): loads as typed items, every
expected title is a skill of the bundled ESCO taxonomy, and bad files are named."""

import json

import pytest

from sea_core.golden import load_golden_set
from sea_core.taxonomy import bundled_taxonomy


@pytest.fixture(scope="module")
def golden():
    return load_golden_set()


def test_the_shipped_set_has_twenty_job_and_course_texts_of_30_to_300_words(golden):
    assert len(golden) >= 20
    assert {g.kind for g in golden} == {"job", "course"}
    for item in golden:
        assert item.name and item.expected, item.name  # named, with the titles it must yield
        assert 30 <= len(item.text.split()) <= 300, item.name


def test_every_expected_title_is_in_the_bundled_taxonomy(golden):
    taxonomy = bundled_taxonomy()
    for item in golden:
        assert len(item.expected_ids(taxonomy)) == len(set(item.expected)), item.name


def test_the_data_engineer_posting_expects_the_skills_the_recall_gap_named(golden):
    posting = next(g for g in golden if g.name == "data_engineer_streaming")
    assert 270 <= len(posting.text.split()) <= 300
    assert {
        "communication",
        "manage relationships with stakeholders",
        "develop with cloud services",
        "Agile project management",
    } <= set(posting.expected)


def test_an_absent_folder_is_an_empty_set(tmp_path):
    assert load_golden_set(tmp_path / "missing") == []


@pytest.mark.parametrize(
    "line,message",
    [
        ("not json", "needs name"),
        (json.dumps({"name": "a", "kind": "job", "text": "t"}), "needs name"),
        (json.dumps({"name": "a", "kind": "poem", "text": "t", "expected": ["x"]}), "kind must be"),
        (json.dumps({"name": "a", "kind": "job", "text": " ", "expected": ["x"]}), "non-empty"),
        (json.dumps({"name": "a", "kind": "job", "text": "t", "expected": []}), "non-empty"),
    ],
)
def test_malformed_lines_are_named(tmp_path, line, message):
    (tmp_path / "bad.jsonl").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_golden_set(tmp_path)
    assert "bad.jsonl:1" in str(info.value)


def test_duplicate_names_are_rejected(tmp_path):
    line = json.dumps({"name": "a", "kind": "job", "text": "t", "expected": ["x"]})
    (tmp_path / "g.jsonl").write_text(line + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="g.jsonl:3: duplicate"):
        load_golden_set(tmp_path)
