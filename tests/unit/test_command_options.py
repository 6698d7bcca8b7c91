"""Shared option types of the `python -m mlops` sub-commands (`mlops.entrypoints.commands`)."""

from __future__ import annotations

import argparse

import pytest

from mlops.entrypoints.cli import build_parser
from mlops.entrypoints.commands import at_least_one


def test_a_whole_number_of_one_or_more_is_taken():
    assert at_least_one("a whole number")("1") == 1
    assert at_least_one("a whole number")("16") == 16


@pytest.mark.parametrize("text", ["0", "-3"])
def test_below_one_is_refused_with_the_value(text):
    with pytest.raises(argparse.ArgumentTypeError, match=rf"must be at least 1, got {text}"):
        at_least_one("a whole number")(text)


@pytest.mark.parametrize("text", ["two", "1.5", ""])
def test_not_a_number_names_what_was_expected(text):
    with pytest.raises(argparse.ArgumentTypeError, match=rf"expected a number of bytes, got {text!r}"):
        at_least_one("a number of bytes")(text)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["batch", "--input", "a.jsonl", "--output", "b.jsonl", "--workers", "0"],
            "must be at least 1, got 0",
        ),
        (
            ["batch", "--input", "a.jsonl", "--output", "b.jsonl", "--chunk-size", "x"],
            "expected a whole number",
        ),
        (["serve", "--max-body-bytes", "many"], "expected a number of bytes, got 'many'"),
    ],
)
def test_the_commands_refuse_bad_counts(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
