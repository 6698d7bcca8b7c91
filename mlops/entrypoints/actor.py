"""Who runs a privileged command (`release ...`, `users ...`, `tokens ...`, `taxonomy import`,
`build`, `jobs cancel`): every one authenticates its actor here, in one of two ways.

- A person: `--user NAME` with the account's password, read from the first line of standard
  input (`--password-stdin`) or typed at a hidden prompt when standard input is a terminal;
  never from the command line. The auth service checks it (wrong passwords count towards the
  lockout, as in the app).
- A service token (CI, cron): `--token-stdin`, else the `SEA_TOKEN` environment variable; it
  acts as `token:<name>` with the token's roles (`mlops.services.service_tokens`).

`--user` wins over `SEA_TOKEN`. With neither, or `--user` and no way to read its password, the
command stops before doing anything: one line on stderr, exit 2. The services then check the
actor's roles as for any user, and the audit log records its name.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any, NoReturn

from mlops.services import auth, service_tokens
from mlops.services.identity import User

#: The environment variable holding a service token.
TOKEN_ENV = "SEA_TOKEN"
#: Exit code of a command refused for want of credentials (argparse's usage-error code).
USAGE_EXIT = 2


def add_actor_options(parser: argparse.ArgumentParser, who: str = "who acts") -> None:
    """Add `--user`, `--password-stdin` and `--token-stdin` to a privileged command's parser."""
    group = parser.add_argument_group("authentication (or a service token in $SEA_TOKEN)")
    group.add_argument(
        "--user",
        default=None,
        metavar="NAME",
        help=f"{who}: a local account; its password from --password-stdin or a prompt",
    )
    group.add_argument(
        "--password-stdin",
        action="store_true",
        help="read --user's password from the first line of standard input",
    )
    group.add_argument(
        "--token-stdin",
        action="store_true",
        help=f"read a service token from the first line of standard input (instead of ${TOKEN_ENV})",
    )


def refuse(message: str) -> NoReturn:
    """Stop the command for want of credentials: `error: message` on stderr, exit 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(USAGE_EXIT)


def _stdin_line(what: str) -> str:
    line = sys.stdin.readline()
    if not line.strip():
        refuse(f"no {what} on standard input")
    return line.rstrip("\r\n")


def _password(username: str, from_stdin: bool) -> str:
    if from_stdin:
        return _stdin_line(f"password for {username}")
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"Password for {username}: ")
    refuse(
        f"no password for {username}: pipe it with --password-stdin, run in a terminal to be "
        f"prompted, or use a service token (${TOKEN_ENV} or --token-stdin)"
    )


def authenticate_actor(args: argparse.Namespace, services: Any) -> User:
    """The authenticated user behind this command (see the module doc). Exit 2 without
    credentials; AuthError (exit 1) when they are wrong."""
    username = getattr(args, "user", None)
    token_stdin = bool(getattr(args, "token_stdin", False))
    password_stdin = bool(getattr(args, "password_stdin", False))
    if token_stdin and (username or password_stdin):
        refuse("--token-stdin authenticates with a service token: leave out --user and --password-stdin")
    if token_stdin:
        return service_tokens.authenticate_token(services.warehouse, _stdin_line("service token"))
    if username:
        return auth.authenticate(services.warehouse, username, _password(username, password_stdin))
    if password_stdin:
        refuse("--password-stdin needs --user NAME")
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return service_tokens.authenticate_token(services.warehouse, token)
    refuse(
        "this command needs an authenticated actor: --user NAME (password from --password-stdin "
        f"or a prompt), or a service token (${TOKEN_ENV} or --token-stdin)"
    )
