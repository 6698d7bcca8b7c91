"""The demo's inputs (`mlops.demo.inputs`) and its command-line refusals, without running it."""

from __future__ import annotations

import pytest

from mlops.demo.inputs import (
    N_NEW_SKILLS,
    DemoError,
    benchmark_files,
    check_empty,
    demo_users,
    new_password,
    new_skill_rows,
)
from mlops.entrypoints.cli import main


def test_the_demo_accounts_come_from_the_data_file():
    assert [(u.username, u.roles) for u in demo_users()] == [
        ("ada", ("admin",)),
        ("alan", ("admin",)),
        ("sam", ("stakeholder",)),
        ("rita", ("reviewer",)),
    ]


def test_each_run_gets_a_new_password():
    first, second = new_password(), new_password()
    assert first != second and len(first) >= 12


def test_new_skills_skip_titles_the_taxonomy_has():
    rows = new_skill_rows(set())
    assert len(rows) == N_NEW_SKILLS and rows[0]["preferredLabel"] == "prompt engineering"
    skipped = new_skill_rows({"prompt engineering"})
    assert skipped[0]["preferredLabel"] == "large language model fine-tuning"
    every_title = [r["preferredLabel"].lower() for r in new_skill_rows(set(), 53)]
    with pytest.raises(DemoError, match="only 1 of the 2 demo skills are new"):
        new_skill_rows(set(every_title[1:]), 2)


def test_benchmark_files_from_a_folder_a_file_or_nothing(tmp_path):
    (tmp_path / "b_validation_annotations.csv").write_text("x")
    (tmp_path / "a_validation_annotations.csv").write_text("x")
    (tmp_path / "notes.csv").write_text("x")
    assert [p.name for p in benchmark_files(tmp_path)] == [
        "a_validation_annotations.csv",
        "b_validation_annotations.csv",
    ]
    assert benchmark_files(tmp_path / "notes.csv") == [tmp_path / "notes.csv"]
    with pytest.raises(DemoError, match="no benchmark at .*give --benchmark PATH"):
        benchmark_files(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DemoError, match="no benchmark"):
        benchmark_files(tmp_path / "empty")


def test_check_empty_refuses_a_folder_with_files(tmp_path):
    assert check_empty(tmp_path / "new") == (tmp_path / "new").resolve()
    (tmp_path / "new" / "file").write_text("x")
    with pytest.raises(DemoError, match="not an empty folder"):
        check_empty(tmp_path / "new")


def test_demo_command_without_a_benchmark_exits_2_saying_so(tmp_path, capsys):
    code = main(["demo", "--home", str(tmp_path / "home"), "--benchmark", str(tmp_path / "none")])
    assert code == 2
    out = capsys.readouterr().out
    assert out.startswith(f"demo: no benchmark at {tmp_path / 'none'}") and "--benchmark" in out
    assert not (tmp_path / "home").exists()  # refused before touching anything
