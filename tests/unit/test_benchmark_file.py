"""Reading a benchmark CSV for `python -m sea_core evaluate`: its columns in any case or
spacing, a spreadsheet's byte-order mark, and one clear error for a file it cannot read."""

from __future__ import annotations

import pytest

from sea_core.evaluate import BenchmarkError, BenchmarkItem, benchmark_items, read_benchmark
from sea_core.taxonomy import Skill, Taxonomy

TAXONOMY = Taxonomy([Skill("SQL"), Skill("Python programming")], version="t", name="t")
SQL, PY = TAXONOMY.skill_ids


def test_rows_and_items_of_the_benchmark_shape(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text(
        "sentence,span,sub_span,label\nWe use SQL,SQL,,sql\nWe use SQL,use,,LABEL NOT PRESENT\nBe kind,kind,,UNDERSPECIFIED\n",
        encoding="utf-8",
    )
    rows = read_benchmark(path)
    assert rows == [("We use SQL", "sql"), ("We use SQL", "LABEL NOT PRESENT"), ("Be kind", "UNDERSPECIFIED")]
    assert benchmark_items(rows, TAXONOMY) == [BenchmarkItem("We use SQL", frozenset({SQL}))]


def test_a_spreadsheets_header_and_byte_order_mark_are_read(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes("\ufeffSentence, Label \nPython daily,Python programming\n".encode())
    assert read_benchmark(path) == [("Python daily", "Python programming")]


def test_an_empty_benchmark_has_no_rows(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("sentence,label\n", encoding="utf-8")
    assert read_benchmark(path) == [] and benchmark_items([], TAXONOMY) == []


@pytest.mark.parametrize(
    "content,message",
    [
        (b"text,label\nx,SQL\n", r"missing column\(s\) \['sentence'\]; it has text, label"),
        (b"", r"missing column\(s\) \['label', 'sentence'\]; it has none"),
        (
            "sentence,label\nCaf\xe9,SQL\n".encode("cp1252"),
            r"is not UTF-8 text \(line 2, byte 0xe9\); save it as UTF-8",
        ),
    ],
)
def test_a_file_it_cannot_read_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "b.csv"
    path.write_bytes(content)
    with pytest.raises(BenchmarkError, match=message):
        read_benchmark(path)
