"""Reading labelled texts for the ground-truth import: the export's and the benchmark's shapes,
CSV and Parquet, grouping by text, and every row that cannot be read reported with its line."""

from __future__ import annotations

import csv

import pytest

from mlops.services.ground_truth_import import GroundTruthFileError, LabelledText, Refusal, read_labelled
from mlops.services.monitoring import GROUND_TRUTH_COLUMNS
from sea_core.taxonomy import Skill, Taxonomy
from sea_core.validation import MAX_TEXT_CHARS

TAXONOMY = Taxonomy(
    [Skill("Python programming"), Skill("SQL"), Skill("Data analysis")], version="t", name="t"
)
PY, SQL, DATA = (TAXONOMY.skill_ids[i] for i in range(3))


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_the_monitoring_export_is_read_back_grouped_by_text(tmp_path):
    path = write_csv(
        tmp_path / "gt.csv",
        GROUND_TRUTH_COLUMNS,
        [
            ["r1", "rita", "t", "1.0.0", PY, "Python programming", "accepted", "Python and SQL"],
            ["r1", "rita", "t", "1.0.0", SQL, "SQL", "added", "Python and SQL"],
            ["r2", "rita", "t", "1.0.0", "", "", "", "We are a friendly team"],
        ],
    )
    items, refused = read_labelled(path, TAXONOMY)
    assert items == [
        LabelledText("Python and SQL", frozenset({PY, SQL}), 2),
        LabelledText("We are a friendly team", frozenset(), 4),  # a review that confirmed none
    ]
    assert refused == []


def test_the_benchmark_shape_matches_titles_and_skips_labels_naming_no_skill(tmp_path):
    path = write_csv(
        tmp_path / "bench.csv",
        ["sentence", "span", "sub_span", "label"],
        [
            ["Strong python skills", "python", "", "python programming"],  # titles match case-blind
            ["Strong python skills", "skills", "", "LABEL NOT PRESENT"],
            ["Be smart", "smart", "", "LABEL NOT PRESENT"],
            ["Know Rust", "Rust", "", "Rust programming"],
        ],
    )
    items, refused = read_labelled(path, TAXONOMY)
    assert items == [LabelledText("Strong python skills", frozenset({PY}), 2)]
    assert refused == [
        Refusal(5, "no skill of the taxonomy is titled 'Rust programming'"),
        Refusal(4, "no row of this text names a taxonomy skill"),
    ]


def test_parquet_is_read_as_csv_is(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "gt.parquet"
    pq.write_table(pa.table({"text": ["SQL daily", "SQL daily"], "skill_id": [SQL, DATA]}), path)
    items, refused = read_labelled(path, TAXONOMY)
    assert items == [LabelledText("SQL daily", frozenset({SQL, DATA}), 1)] and refused == []


def test_unknown_ids_and_bad_texts_are_refused_with_their_lines(tmp_path):
    path = write_csv(
        tmp_path / "gt.csv",
        ["text", "skill_id"],
        [["SQL", "no-such-id"], ["", SQL], ["   ", SQL], ["x" * (MAX_TEXT_CHARS + 1), SQL], ["SQL", SQL]],
    )
    items, refused = read_labelled(path, TAXONOMY)
    assert items == [LabelledText("SQL", frozenset({SQL}), 2)]
    assert [(r.line, r.reason.split(":")[0]) for r in refused] == [
        (2, "skill id 'no-such-id' is not in the taxonomy"),
        (3, "the text is empty or only whitespace"),
        (4, "the text is empty or only whitespace"),
        (5, f"the text is {MAX_TEXT_CHARS + 1:,} characters; the limit is {MAX_TEXT_CHARS:,}"),
    ]


def test_a_text_at_the_length_limit_is_read(tmp_path):
    text = "x" * MAX_TEXT_CHARS
    items, _ = read_labelled(write_csv(tmp_path / "gt.csv", ["text", "skill_id"], [[text, PY]]), TAXONOMY)
    assert [i.text for i in items] == [text]


def test_an_empty_file_has_no_texts(tmp_path):
    assert read_labelled(write_csv(tmp_path / "gt.csv", ["text", "skill_id"], []), TAXONOMY) == ([], [])


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("gt.json", "[]", "give a .csv or .parquet file"),
        ("gt.csv", "text,decision\nSQL,accepted\n", "needs a text column"),
        ("gt.csv", "skill_id\nabc\n", "needs a text column"),
        ("gt.csv", "decision\naccepted,extra field\n", "needs a text column .*; it has decision$"),
    ],
)
def test_a_file_of_another_shape_is_one_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GroundTruthFileError, match=message):
        read_labelled(path, TAXONOMY)


def test_a_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(GroundTruthFileError, match="no such file"):
        read_labelled(tmp_path / "absent.csv", TAXONOMY)


def test_column_names_match_whatever_their_case_spacing_or_bom(tmp_path):
    """A spreadsheet's own headers ("Sentence", "Skill Title", a UTF-8 BOM) name the same columns."""
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffSentence , Skill-Title\nSQL daily,sql\n".encode())
    assert read_labelled(path, TAXONOMY) == ([LabelledText("SQL daily", frozenset({SQL}), 2)], [])


def test_lines_count_a_quoted_text_that_spans_lines_and_blank_lines(tmp_path):
    path = tmp_path / "gt.csv"
    path.write_text('text,skill_title\n"SQL on\nthree\nlines",SQL\n\nKnow Rust,Rust\n', encoding="utf-8")
    items, refused = read_labelled(path, TAXONOMY)
    assert items == [LabelledText("SQL on\nthree\nlines", frozenset({SQL}), 2)]
    assert refused == [Refusal(6, "no skill of the taxonomy is titled 'Rust'")]


def test_a_csv_that_is_not_utf8_is_one_clear_error_with_the_way_out(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\nCaf\xe9 staff know SQL,SQL\n".encode("cp1252"))
    with pytest.raises(
        GroundTruthFileError, match=r"not UTF-8 text \(line 2, byte 0xe9\); save it as 'CSV UTF-8'"
    ):
        read_labelled(path, TAXONOMY)


def test_a_file_named_parquet_that_is_not_is_one_clear_error(tmp_path):
    path = tmp_path / "gt.parquet"
    path.write_bytes(b"text,label\nSQL,SQL\n")
    with pytest.raises(GroundTruthFileError, match="not a Parquet file that can be read"):
        read_labelled(path, TAXONOMY)
