"""Bad input to `python -m sea_core` and `python -m mlops` (issue 11, Low): a 0xff byte in a file,
`{"text":"\\ud800"}`, invalid UTF-8 on stdin or in an argument, 100k nested `[`, a 5001-digit
number, `--bundle /nonexistent`: each is one clear line on stderr and exit 2, never a traceback.
Run in-process through `main()` where that is the same path, as subprocesses for argv and stdin."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops.entrypoints.cli import _bad_input
from mlops.entrypoints.cli import main as mlops_main
from sea_core.cli import main as core_main
from sea_core.text_encoding import TextEncodingError, decode_utf8, parse_json, require_unicode

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run_module(module: str, *args: str | bytes, stdin: bytes | None = None) -> tuple[int, str]:
    """(exit code, stderr) of `python -m module args...` (arguments may be raw bytes)."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=ENV,
        input=stdin,
        capture_output=True,
        timeout=300,
    )
    return proc.returncode, proc.stderr.decode("utf-8", "replace")


def one_line(err: str) -> str:
    err = err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def extract_file(tmp_path, capsys, content: bytes) -> str:
    src = tmp_path / "in.jsonl"
    src.write_bytes(content)
    assert core_main(["extract", "--input", str(src)]) == 2
    return one_line(capsys.readouterr().err)


# -- python -m sea_core: negative path -----------------------------------------------------------
@pytest.mark.parametrize(
    "content, expected",
    [
        (b'{"text": "caf\xff"}\n', "in.jsonl line 1: not valid UTF-8 (byte 0xff at column 14)"),
        (b'{"text": "ok"}\n{"text": "\\ud800"}\n', "line 2: text: has an unpaired surrogate U+D800"),
        (b"[" * 100_000 + b"\n", "line 1: JSON nested too deeply to parse"),
        (b'{"text": ' + b"9" * 5001 + b"}\n", "line 1: JSON not accepted (Exceeds the limit (4300 digits)"),
    ],
)
def test_bad_input_files(tmp_path, capsys, content, expected):
    assert expected in extract_file(tmp_path, capsys, content)


@pytest.mark.parametrize(
    "content,expected",
    [
        (b"text,label\nx,SQL\n", "missing column(s) ['sentence']; it has text, label"),
        ("sentence,label\nCaf\xe9,SQL\n".encode("cp1252"), "is not UTF-8 text (line 2, byte 0xe9)"),
    ],
)
def test_a_benchmark_it_cannot_read_is_one_line_before_any_model_loads(tmp_path, capsys, content, expected):
    """`evaluate --data` on such a file printed a ValueError traceback after loading the model."""
    data = tmp_path / "bench.csv"
    data.write_bytes(content)
    assert core_main(["evaluate", "--data", str(data), "--model", str(tmp_path / "no-model")]) == 2
    assert expected in one_line(capsys.readouterr().err)


def test_a_missing_bundle_folder(capsys):
    assert core_main(["extract", "--text", "python", "--bundle", "/nonexistent"]) == 2
    assert "--bundle /nonexistent: no such folder" in one_line(capsys.readouterr().err)


def test_a_folder_that_is_no_bundle(tmp_path, capsys):
    assert core_main(["extract", "--text", "python", "--bundle", str(tmp_path)]) == 2
    assert "has no embedding_model" in one_line(capsys.readouterr().err)


def test_invalid_utf8_on_stdin_in_process(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"text": "a\xc3"}\n'), encoding="utf-8"))
    assert core_main(["extract", "--input", "-"]) == 2
    assert "stdin line 1: not valid UTF-8 (byte 0xc3" in one_line(capsys.readouterr().err)


def test_sea_core_subprocess_argv_and_stdin():
    code, err = run_module("sea_core", "extract", "--text", b"caf\xff")
    assert code == 2 and "argument 3: not valid Unicode text (byte 0xff is not valid UTF-8" in one_line(err)
    code, err = run_module("sea_core", "extract", "--input", "-", stdin=b'{"text": "\xff"}\n')
    assert code == 2 and "stdin line 1: not valid UTF-8 (byte 0xff" in one_line(err)


# -- python -m sea_core: edge and boundary -------------------------------------------------------
def test_a_byte_order_mark_before_the_first_json_line_is_not_part_of_it(tmp_path, capsys):
    """Windows tools start a UTF-8 file with a BOM; it made line 1 'not valid JSON'. Only the
    file's start is a BOM's place: one inside a later line is still refused."""
    import argparse

    from sea_core.cli import read_inputs

    src = tmp_path / "in.jsonl"
    src.write_bytes('\ufeff{"text": "We use SQL"}\n"Python"\n'.encode())
    assert list(read_inputs(argparse.Namespace(text=None, input=str(src)))) == [
        (1, "We use SQL"),
        (2, "Python"),
    ]
    src.write_bytes('"SQL"\n\ufeff"Python"\n'.encode())
    assert core_main(["extract", "--input", str(src)]) == 2
    assert "line 2: not valid JSON" in one_line(capsys.readouterr().err)


def test_a_4300_digit_number_parses_and_is_refused_as_a_non_text(tmp_path, capsys):
    err = extract_file(tmp_path, capsys, b'{"text": ' + b"9" * 4300 + b"}\n")
    assert "line 1: text: must be a string" in err


def test_moderate_nesting_parses_and_is_refused_by_validation(tmp_path, capsys):
    err = extract_file(tmp_path, capsys, b"[" * 100 + b"]" * 100 + b"\n")
    assert "line 1:" in err and "nested too deeply" not in err


def test_a_valid_non_ascii_text_passes_the_checks():
    assert require_unicode("café 日本", "t") == "café 日本"
    assert decode_utf8("café".encode(), "t") == "café"
    assert parse_json('{"text": "\\u00e9"}', "t") == {"text": "é"}
    with pytest.raises(TextEncodingError, match="t: not valid JSON"):
        parse_json("{", "t")


# -- python -m mlops -----------------------------------------------------------------------------
def test_mlops_argv_with_invalid_utf8():
    code, err = run_module("mlops", "registry", "show", b"1.0.\xff")
    assert code == 2 and "argument 3: not valid Unicode text (byte 0xff" in one_line(err)


def test_mlops_argv_lone_surrogate_in_process(cli_home, capsys):
    assert mlops_main(["registry", "show", "\ud800"]) == 2
    assert "lone surrogate U+D800" in one_line(capsys.readouterr().err)


def test_mlops_taxonomy_file_with_a_0xff_byte(cli_home, capsys):
    path = cli_home.parent / "skills.csv"
    path.write_bytes(b"title\ncaf\xff\n")
    assert mlops_main(["taxonomy", "preview", str(path)]) == 2
    assert "skills.csv, row 2: not UTF-8 text" in one_line(capsys.readouterr().err)


def test_mlops_invalid_utf8_on_stdin(cli_home, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xffsecret\n"), encoding="utf-8"))
    assert mlops_main(["users", "passwd", "nobody", "--user", "nobody", "--password-stdin"]) == 2
    assert "not valid UTF-8 (byte 0xff" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "error, expected",
    [
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (TextEncodingError("config.json: JSON nested too deeply to parse"), "config.json"),
    ],
)
def test_mlops_bad_input_errors_map_to_one_message(error, expected):
    assert expected in (_bad_input(error) or "")


def test_an_error_caused_by_undecodable_bytes_is_bad_input():
    cause = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    error = ValueError("build configuration c.json: cannot be read: invalid start byte")
    error.__cause__ = cause
    assert _bad_input(error) == str(error)


def test_other_errors_are_not_bad_input():
    assert _bad_input(RuntimeError("store unreachable")) is None


def test_mlops_build_config_with_a_5001_digit_number_is_bad_input(tmp_path):
    from mlops.services.build import load_build_config
    from mlops.services.build.config import BuildConfigError

    config = tmp_path / "build.json"
    config.write_text('{"epochs": ' + "9" * 5001 + "}", encoding="utf-8")
    with pytest.raises(BuildConfigError, match="JSON not accepted") as refused:
        load_build_config(config)
    assert _bad_input(refused.value) is not None  # the CLI's exit 2 (was 1: a plain ValueError)
