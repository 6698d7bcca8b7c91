"""The first-admin (and `users passwd`) password prompt: a password too short, too long or
typed differently twice asks again instead of exiting; piped input is read once."""

from __future__ import annotations

import io

import pytest

from mlops.entrypoints.commands import users
from mlops.services.auth import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def prompt(monkeypatch, typed: list[str]) -> list[str]:
    """Make stdin a terminal whose hidden prompt answers `typed` in turn; returns the prompts."""
    answers, asked = iter(typed), []

    def getpass(question: str) -> str:
        asked.append(question)
        return next(answers)

    monkeypatch.setattr(users.sys, "stdin", _Terminal())
    monkeypatch.setattr(users.getpass, "getpass", getpass)
    return asked


def test_a_good_password_typed_twice(monkeypatch, capsys):
    asked = prompt(monkeypatch, ["long enough", "long enough"])
    assert users.read_password(False) == "long enough"
    assert asked == ["Password: ", "Repeat password: "]
    assert f"{MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters" in capsys.readouterr().err


def test_too_short_asks_again(monkeypatch, capsys):
    asked = prompt(monkeypatch, ["short", "long enough", "long enough"])
    assert users.read_password(False) == "long enough"
    assert asked == ["Password: ", "Password: ", "Repeat password: "]
    assert "has 5 characters" in capsys.readouterr().err


def test_a_mismatch_asks_again(monkeypatch, capsys):
    prompt(monkeypatch, ["long enough", "long enuogh", "long enough", "long enough"])
    assert users.read_password(False) == "long enough"
    assert "do not match" in capsys.readouterr().err


@pytest.mark.parametrize(
    "password, accepted",
    [
        ("x" * (MIN_PASSWORD_CHARS - 1), False),
        ("x" * MIN_PASSWORD_CHARS, True),
        ("x" * MAX_PASSWORD_CHARS, True),
        ("x" * (MAX_PASSWORD_CHARS + 1), False),
    ],
)
def test_length_boundaries(monkeypatch, password, accepted):
    prompt(monkeypatch, [password, password, "fallback pw", "fallback pw"])
    assert users.read_password(False) == (password if accepted else "fallback pw")


def test_gives_up_after_the_last_try(monkeypatch):
    prompt(monkeypatch, ["short"] * users.PROMPT_ATTEMPTS)
    with pytest.raises(ValueError, match=f"after {users.PROMPT_ATTEMPTS} tries"):
        users.read_password(False)


def test_piped_input_is_read_once_as_given(monkeypatch):
    monkeypatch.setattr(users.sys, "stdin", io.StringIO("short\nignored\n"))
    assert users.read_password(True) == "short"  # the account service rejects it with its rule
