"""Malformed taxonomy CSVs are refused naming file, row and column (issue 11: an unbalanced
quote imported the rest of the file as one skill title; an ESCO field over 131,072 characters
gave an error with no file or row). Plain CSV and ESCO CSV loaders."""

from __future__ import annotations

import csv

import pytest

from sea_core.taxonomy import TaxonomyError, load_taxonomy
from sea_core.taxonomy.csv_records import MAX_FIELD_CHARS, read_records

LIMIT = MAX_FIELD_CHARS  # 131,072, whatever the process set csv.field_size_limit to
ESCO_HEADER = "conceptUri,preferredLabel,altLabelsAndDescription\n"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(path) -> TaxonomyError:
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    return info.value


# -- happy path ----------------------------------------------------------------------------------
def test_quoted_commas_quotes_and_multi_line_descriptions_load(tmp_path):
    path = write(
        tmp_path,
        "skills.csv",
        'title,type,description\n"python, advanced",skill,"one\ntwo"\n5" screens,skill,"say ""hi"""\n',
    )
    taxonomy = load_taxonomy(path)
    assert [s.title for s in taxonomy] == ["python, advanced", '5" screens']
    assert taxonomy[1].description == 'say "hi"'


def test_esco_alt_labels_over_several_lines_load(tmp_path):
    path = write(tmp_path, "esco.csv", ESCO_HEADER + 'u1,welding,"weld\njoin metals\nJoin metal parts."\n')
    assert [s.title for s in load_taxonomy(path)] == ["welding"]


# -- negative path: unbalanced quotes ------------------------------------------------------------
def test_a_quote_never_closed_is_refused_at_its_row(tmp_path):
    rows = "".join(f"skill {i},skill\n" for i in range(300))
    err = refused(write(tmp_path, "skills.csv", 'title,type\npython,skill\n"java,skill\n' + rows))
    assert (err.file.endswith("skills.csv"), err.row) == (True, 3)
    assert "record starting on line 3" in str(err) and "never closed" in str(err)


def test_a_quote_closed_rows_later_is_refused(tmp_path):
    err = refused(write(tmp_path, "skills.csv", 'title,type\n"java,skill\nsql,skill\n"ruby",skill\n'))
    assert err.row == 2 and "malformed CSV" in str(err)


def test_a_title_that_swallowed_rows_is_refused(tmp_path):
    err = refused(write(tmp_path, "skills.csv", 'title,type\n"java,skill\nsql,skill\n",skill\nc,skill\n'))
    assert (err.row, err.column) == (2, "title") and "spans 3 lines from line 2" in str(err)


def test_an_esco_label_that_swallowed_rows_is_refused(tmp_path):
    text = ESCO_HEADER + 'u1,"welding,x\nu2,sawing,y\n",z\n'
    err = refused(write(tmp_path, "esco.csv", text))
    assert (err.row, err.column) == (2, "preferredLabel")


# -- negative path: fields over the csv limit ----------------------------------------------------
def test_an_esco_field_over_the_limit_names_file_row_and_column(tmp_path):
    text = ESCO_HEADER + "u1,welding,short\n" + "u2,sawing," + "x" * (LIMIT + 1) + "\n"
    err = refused(write(tmp_path, "esco.csv", text))
    assert err.file.endswith("esco.csv") and (err.row, err.column) == (3, "altLabelsAndDescription")
    assert f"longer than {LIMIT:,} characters" in str(err)


def test_a_plain_field_over_the_limit_in_a_quoted_multi_line_value(tmp_path):
    text = 'title,type,description\npython,skill,"' + "y\n" * (LIMIT // 2 + 1) + '"\n'
    err = refused(write(tmp_path, "skills.csv", text))
    assert (err.row, err.column) == (2, "description")


def test_a_field_past_the_header_is_named_by_position(tmp_path):
    text = "title,type\npython,skill," + "z" * (LIMIT + 1) + "\n"
    err = refused(write(tmp_path, "skills.csv", text))
    assert (err.row, err.column) == (2, "#3")


# -- boundary ------------------------------------------------------------------------------------
def test_a_field_of_exactly_the_limit_loads_and_one_more_is_refused(tmp_path):
    ok = write(tmp_path, "ok.csv", "title,description\npython," + "d" * LIMIT + "\n")
    assert len(load_taxonomy(ok)[0].description) == LIMIT
    bad = write(tmp_path, "bad.csv", "title,description\npython," + "d" * (LIMIT + 1) + "\n")
    assert refused(bad).column == "description"


# -- edge cases ----------------------------------------------------------------------------------
def test_records_keep_their_starting_line():
    records = read_records('a,b\n"x\ny",1\n\nz,2\n', "f.csv")
    assert [(r.values, r.row, r.line) for r in records] == [
        (["a", "b"], 1, 1),
        (["x\ny", "1"], 2, 2),
        ([], 3, 4),
        (["z", "2"], 4, 5),
    ]


def test_crlf_line_ends_load(tmp_path):
    path = tmp_path / "skills.csv"
    path.write_bytes(b"title,type\r\npython,skill\r\njava,skill\r\n")
    assert [s.title for s in load_taxonomy(path)] == ["python", "java"]


def test_the_limit_holds_when_the_process_raised_the_csv_limit(tmp_path):
    # the bulk reader raises csv.field_size_limit for its own files; a taxonomy in the same
    # process must still be refused at MAX_FIELD_CHARS, and the caller's limit is kept
    previous = csv.field_size_limit(10 * LIMIT)
    try:
        bad = write(tmp_path, "bad.csv", "title,description\npython," + "d" * (LIMIT + 1) + "\n")
        with pytest.raises(TaxonomyError, match="longer than"):
            load_taxonomy(bad)
        assert csv.field_size_limit() == 10 * LIMIT
    finally:
        csv.field_size_limit(previous)
