"""Bulk-run files: reading rows (with their rejects) and writing records, per format."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops.services.batch.formats import (
    OUTPUT_COLUMNS,
    BatchFormatError,
    Format,
    count_rows,
    detect_format,
    output_row,
    read_output,
    read_rows,
    write_rejects,
    write_rows,
)
from mlops.services.batch.locations import Location, default_work_dir, location, rejects_for
from mlops.services.batch.rows import BAD_JSON, BAD_ROW, REJECT_INPUT_CHARS, Reject

RECORD = {
    "modelVersion": "1.2.3",
    "timestamp": "2026-12-01T10:00:00",
    "requestId": "abc",
    "original_input": "we use python",
    "skillExtractOutput": [{"skill_id": "s1", "skillTitle": "python programming", "confidenceScore": 0.9}],
}


def _jsonl(path, *lines: str):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# -- happy ----------------------------------------------------------------------------------------
def test_jsonl_rows_keep_order_ids_and_texts(tmp_path):
    path = _jsonl(
        tmp_path / "in.jsonl", '{"id": "a", "text": "python"}', '"a bare string"', '{"text": "sql"}'
    )
    rows = list(read_rows(path, Format.JSONL))
    assert [(r.row, r.id, r.text, r.reject) for r in rows] == [
        (0, "a", "python", None),
        (1, None, "a bare string", None),
        (2, None, "sql", None),
    ]


def test_csv_rows_ignore_other_columns(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,text,source\n7,"python, and sql",web\n,java,web\n', encoding="utf-8")
    rows = list(read_rows(path, Format.CSV))
    assert [(r.id, r.text) for r in rows] == [("7", "python, and sql"), (None, "java")]


def test_parquet_rows_read_text_and_id(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [1, 2], "text": ["python", "sql"]}), path)
    rows = list(read_rows(path, Format.PARQUET))
    assert [(r.id, r.text) for r in rows] == [("1", "python"), ("2", "sql")]
    assert count_rows(path, Format.PARQUET) == 2


@pytest.mark.parametrize("fmt", list(Format))
def test_written_records_read_back_in_every_format(tmp_path, fmt):
    path = tmp_path / f"out.{fmt.value}"
    rows = [output_row("a", RECORD), output_row(None, {**RECORD, "skillExtractOutput": []})]
    assert write_rows(path, fmt, rows) == 2
    back = read_output(path, fmt)
    assert back == rows
    assert list(back[0]) == list(OUTPUT_COLUMNS)


def test_rejects_are_json_lines_with_the_reason(tmp_path):
    path = tmp_path / "r.jsonl"
    assert write_rejects(path, [Reject(3, "x", "empty", "text: is empty", "  ")]) == 1
    assert json.loads(path.read_text()) == {
        "row": 3,
        "id": "x",
        "reason": "empty",
        "message": "text: is empty",
        "input": "  ",
    }


# -- negative -------------------------------------------------------------------------------------
def test_bad_json_and_wrong_types_become_rejects(tmp_path):
    path = _jsonl(
        tmp_path / "in.jsonl", "{not json", "[1, 2]", '{"id": 5}', '{"text": {"nested": 1}}', '{"text": ""}'
    )
    reasons = [r.reject.reason if r.reject else None for r in read_rows(path, Format.JSONL)]
    assert reasons == [BAD_JSON, "wrong_type", "missing", "wrong_type", "empty"]


def test_a_too_long_text_is_rejected_with_the_limit(tmp_path):
    path = _jsonl(tmp_path / "in.jsonl", json.dumps({"text": "x" * 11}))
    (row,) = read_rows(path, Format.JSONL, max_chars=10)
    assert row.text is None and row.reject is not None
    assert row.reject.reason == "too_long" and "limit is 10" in row.reject.message


def test_a_csv_row_with_extra_fields_is_rejected(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,python,extra\n2,sql\n", encoding="utf-8")
    rows = list(read_rows(path, Format.CSV))
    assert rows[0].reject is not None and rows[0].reject.reason == BAD_ROW
    assert (rows[1].text, rows[1].reject) == ("sql", None)


@pytest.mark.parametrize("fmt", [Format.CSV, Format.PARQUET])
def test_a_table_without_a_text_column_is_refused(tmp_path, fmt):
    path = tmp_path / f"in.{fmt.value}"
    if fmt is Format.CSV:
        path.write_text("id,body\n1,python\n", encoding="utf-8")
    else:
        pq.write_table(pa.table({"body": ["python"]}), path)
    with pytest.raises(BatchFormatError, match="no 'text' column"):
        list(read_rows(path, fmt))


def test_a_spreadsheets_csv_is_read_whatever_its_header_case_or_byte_order_mark(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark and its users write "ID" and "Text"."""
    path = tmp_path / "in.csv"
    path.write_bytes("\ufeffID, Text \n7,python\n".encode())
    rows = list(read_rows(path, Format.CSV))
    assert [(r.id, r.text, r.reject) for r in rows] == [("7", "python", None)]
    assert count_rows(path, Format.CSV) == 1


def test_a_byte_order_mark_does_not_reject_the_first_json_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes('\ufeff{"text": "python"}\n"sql"\n'.encode())
    assert [(r.text, r.reject) for r in read_rows(path, Format.JSONL)] == [("python", None), ("sql", None)]


def test_parquet_columns_match_whatever_their_case(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"Text": ["python", "sql"], "ID": ["a", "b"]}), path)
    assert [(r.id, r.text) for r in read_rows(path, Format.PARQUET)] == [("a", "python"), ("b", "sql")]


def test_a_missing_input_file_is_refused(tmp_path):
    with pytest.raises(BatchFormatError, match="no such input file"):
        read_rows(tmp_path / "nope.jsonl", Format.JSONL)


@pytest.mark.parametrize(("name", "explicit"), [("in.txt", None), ("in", None), ("in.jsonl", "xml")])
def test_unknown_formats_are_refused(name, explicit):
    with pytest.raises(BatchFormatError):
        detect_format(name, explicit)


@pytest.mark.parametrize("text", ["", "  ", "http://host/file.jsonl", "s3://bucket", "s3://bucket/dir/"])
def test_bad_locations_are_refused(text):
    with pytest.raises(ValueError):
        location(text)


# -- edge -----------------------------------------------------------------------------------------
def test_blank_lines_are_not_records(tmp_path):
    path = _jsonl(tmp_path / "in.jsonl", "", '{"text": "python"}', "   ", '{"text": "sql"}')
    assert [(r.row, r.text) for r in read_rows(path, Format.JSONL)] == [(0, "python"), (1, "sql")]
    assert count_rows(path, Format.JSONL) == 2


@pytest.mark.parametrize("fmt", list(Format))
def test_an_empty_output_is_still_a_valid_file(tmp_path, fmt):
    path = tmp_path / f"out.{fmt.value}"
    assert write_rows(path, fmt, []) == 0
    assert read_output(path, fmt) == []


def test_a_reject_keeps_only_the_start_of_a_huge_input():
    reject = Reject(0, None, "too_long", "too long", "x" * (REJECT_INPUT_CHARS * 3))
    assert len(reject.to_dict()["input"]) == REJECT_INPUT_CHARS


def test_unicode_survives_csv_and_parquet(tmp_path):
    record = {**RECORD, "original_input": 'données, 数据 "quoted"\nnew line'}
    for fmt in (Format.CSV, Format.PARQUET):
        path = tmp_path / f"out.{fmt.value}"
        write_rows(path, fmt, [output_row("é", record)])
        assert read_output(path, fmt)[0]["original_input"] == record["original_input"]


# -- boundary -------------------------------------------------------------------------------------
def test_a_text_of_exactly_the_limit_is_accepted(tmp_path):
    path = _jsonl(tmp_path / "in.jsonl", json.dumps({"text": "x" * 10}), json.dumps({"text": "x" * 11}))
    first, second = read_rows(path, Format.JSONL, max_chars=10)
    assert (first.reject, second.reject is not None) == (None, True)


def test_a_long_csv_field_is_a_reject_not_a_reader_error(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("text\n" + "y" * 200_000 + "\n", encoding="utf-8")
    (row,) = read_rows(path, Format.CSV, max_chars=20_000)
    assert row.reject is not None and row.reject.reason == "too_long"


@pytest.mark.parametrize(
    ("output", "rejects"),
    [
        ("/data/out.csv", "/data/out.rejects.jsonl"),
        ("/data.v2/out", "/data.v2/out.rejects.jsonl"),
        ("s3://b/run/out.parquet", "s3://b/run/out.rejects.jsonl"),
    ],
)
def test_the_rejects_file_sits_beside_the_output(output, rejects):
    assert rejects_for(Location(output)).url == rejects


def test_work_folders_are_beside_local_outputs_and_under_home_for_s3(tmp_path):
    assert default_work_dir(location(str(tmp_path / "out.csv")), tmp_path) == tmp_path / "out.csv.work"
    first = default_work_dir(location("s3://b/a.csv"), tmp_path)
    assert first.parent == tmp_path / "batch" and first != default_work_dir(
        location("s3://b/c.csv"), tmp_path
    )


def test_a_csv_that_is_not_utf8_names_the_line_where_it_stops_being_so(tmp_path):
    """It escaped as a bare UnicodeDecodeError whose position counted from a read buffer."""
    path = tmp_path / "in.csv"
    path.write_bytes("id,text\n1,python\n2,caf\xe9 sql\n".encode("cp1252"))
    for read in (lambda: list(read_rows(path, Format.CSV)), lambda: count_rows(path, Format.CSV)):
        with pytest.raises(
            BatchFormatError, match=r"not UTF-8 text \(line 3, byte 0xe9\); save it as 'CSV UTF-8'"
        ):
            read()
