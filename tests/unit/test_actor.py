"""`mlops.entrypoints.actor.authenticate_actor` and the first-admin service over in-memory
repositories: which credentials are read from where, what is refused (exit 2 without any, an
AuthError when wrong) and who the command then acts as."""

from __future__ import annotations

import argparse
import io
from types import SimpleNamespace

import pytest

from mlops.entrypoints import actor
from mlops.entrypoints.actor import add_actor_options, authenticate_actor
from mlops.services import auth, first_admin, service_tokens
from mlops.services.auth import AuthError
from mlops.services.identity import User, system_user
from tests.fakes import MemoryRepositories

PASSWORD = "correct-horse-1"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch):
    monkeypatch.setattr(auth, "SCRYPT_N", 2**4)
    monkeypatch.delenv(actor.TOKEN_ENV, raising=False)


@pytest.fixture
def services():
    repos = MemoryRepositories()
    auth.create_user(repos, "ada", PASSWORD, ["admin"], system_user())
    return SimpleNamespace(warehouse=repos)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_actor_options(parser)
    return parser.parse_args(list(argv))


def act(services, monkeypatch, *argv: str, stdin: str = "") -> User:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return authenticate_actor(parse(*argv), services)


def token(services, roles=("admin",)) -> str:
    ada = auth.authenticate(services.warehouse, "ada", PASSWORD)
    return service_tokens.issue_token(services.warehouse, "ci", roles, ada).token


# -- happy path ----------------------------------------------------------------------------------
def test_a_password_from_stdin_signs_the_user_in(services, monkeypatch):
    assert act(services, monkeypatch, "--user", "ada", "--password-stdin", stdin=PASSWORD + "\n") == User(
        "ada", frozenset({"admin"})
    )


def test_a_terminal_prompts_for_the_password(services, monkeypatch):
    prompts = []
    monkeypatch.setattr("sys.stdin", Terminal(""))
    monkeypatch.setattr(actor.getpass, "getpass", lambda prompt: prompts.append(prompt) or PASSWORD)
    assert authenticate_actor(parse("--user", "ada"), services).username == "ada"
    assert prompts == ["Password for ada: "]


def test_a_token_from_the_environment_or_stdin_acts_as_token_name(services, monkeypatch):
    text = token(services, ["stakeholder"])
    monkeypatch.setenv(actor.TOKEN_ENV, text)
    assert act(services, monkeypatch) == User("token:ci", frozenset({"stakeholder"}))
    monkeypatch.delenv(actor.TOKEN_ENV)
    assert act(services, monkeypatch, "--token-stdin", stdin=text + "\n").username == "token:ci"


# -- negative path -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv,stdin,message",
    [
        ((), "", "needs an authenticated actor"),
        (("--user", "ada"), PASSWORD, "no password for ada: pipe it with --password-stdin"),
        (("--password-stdin",), PASSWORD, "--password-stdin needs --user NAME"),
        (("--user", "ada", "--token-stdin"), "sea_x.y", "leave out --user"),
        (("--user", "ada", "--password-stdin"), "", "no password for ada on standard input"),
        (("--token-stdin",), "\n", "no service token on standard input"),
    ],
)
def test_missing_or_conflicting_credentials_exit_2(services, monkeypatch, capsys, argv, stdin, message):
    with pytest.raises(SystemExit) as stopped:
        act(services, monkeypatch, *argv, stdin=stdin)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_a_wrong_password_is_an_auth_error_and_counted(services, monkeypatch):
    with pytest.raises(AuthError, match="wrong username or password"):
        act(services, monkeypatch, "--user", "ada", "--password-stdin", stdin="wrong-horse-9")
    assert services.warehouse.users.get("ada").failed_logins == 1


def test_a_wrong_token_is_an_auth_error(services, monkeypatch):
    monkeypatch.setenv(actor.TOKEN_ENV, token(services).split(".")[0] + ".not-the-secret")
    with pytest.raises(AuthError, match="invalid service token"):
        act(services, monkeypatch)


# -- edge cases ----------------------------------------------------------------------------------
def test_the_user_flag_wins_over_a_token_in_the_environment(services, monkeypatch):
    auth.create_user(services.warehouse, "sam", PASSWORD, ["stakeholder"], system_user())
    monkeypatch.setenv(actor.TOKEN_ENV, token(services))
    assert act(services, monkeypatch, "--user", "sam", "--password-stdin", stdin=PASSWORD).username == "sam"


def test_a_blank_token_variable_counts_as_none(services, monkeypatch, capsys):
    monkeypatch.setenv(actor.TOKEN_ENV, "   ")
    with pytest.raises(SystemExit):
        act(services, monkeypatch)
    assert "needs an authenticated actor" in capsys.readouterr().err


def test_only_the_first_stdin_line_is_the_password(services, monkeypatch):
    import sys

    user = act(
        services, monkeypatch, "--user", "ada", "--password-stdin", stdin=f"{PASSWORD}\r\nnew-password-2\n"
    )
    assert user.username == "ada" and sys.stdin.readline() == "new-password-2\n"


# -- boundaries: the first admin -------------------------------------------------------------------
def test_the_first_admin_is_created_once_and_only_with_the_admin_role():
    repos = MemoryRepositories()
    assert first_admin.needs_first_admin(repos)
    with pytest.raises(AuthError, match="needs --role admin"):
        first_admin.create_first_admin(repos, "rita", PASSWORD, ["reviewer"])
    user = first_admin.create_first_admin(repos, "ada", PASSWORD, ["admin", "reviewer"])
    assert user.roles == {"admin", "reviewer"} and not first_admin.needs_first_admin(repos)
    with pytest.raises(AuthError, match="an admin account exists"):
        first_admin.create_first_admin(repos, "eve", PASSWORD, ["admin"])
    assert [u.username for u in repos.users.all()] == ["ada"]
    assert repos.locks_taken[-2] == (auth.LOCK,)  # the check and the creation under one lock


def test_a_disabled_last_admin_reopens_the_first_admin_path():
    repos = MemoryRepositories()
    first_admin.create_first_admin(repos, "ada", PASSWORD, ["admin"])
    auth.create_user(repos, "rita", PASSWORD, ["reviewer"], system_user())
    assert not first_admin.needs_first_admin(repos)
    auth.set_disabled(repos, "ada", True, system_user())
    assert first_admin.needs_first_admin(repos)
