"""`python -m mlops users add NAME --role R [--role R2] [--password-stdin]` and `users list`:
local accounts in the warehouse (the first admin is created this way)."""

from __future__ import annotations

import argparse
import getpass
import sys

from mlops.services.identity import ROLES, system_user


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `users add`, `users list`, `users roles` and `users passwd`."""
    parser = subparsers.add_parser("users", help="local sign-in accounts and their roles")
    actions = parser.add_subparsers(dest="users_command", required=True)
    add = actions.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument(
        "--role", action="append", required=True, choices=ROLES, help="a role to grant (repeat for several)"
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    add.set_defaults(func=run_add)
    listing = actions.add_parser("list", help="one line per account")
    listing.set_defaults(func=run_list)
    roles = actions.add_parser("roles", help="replace an account's roles")
    roles.add_argument("username")
    roles.add_argument("--role", action="append", required=True, choices=ROLES)
    roles.set_defaults(func=run_roles)
    passwd = actions.add_parser("passwd", help="set a new password (unlocks the account)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(func=run_passwd)


#: Tries at the hidden prompt before giving up.
PROMPT_ATTEMPTS = 5


def read_password(from_stdin: bool) -> str:
    """The new password: stdin's first line, or typed twice at a hidden prompt, which asks
    again (up to PROMPT_ATTEMPTS times) when the password is too short, too long or the two
    do not match."""
    from mlops.services.auth import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS

    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    print(f"The password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters.", file=sys.stderr)
    for _ in range(PROMPT_ATTEMPTS):
        first = getpass.getpass("Password: ")
        if not MIN_PASSWORD_CHARS <= len(first) <= MAX_PASSWORD_CHARS:
            print(
                f"That password has {len(first)} characters; it needs {MIN_PASSWORD_CHARS} to "
                f"{MAX_PASSWORD_CHARS}. Try again.",
                file=sys.stderr,
            )
        elif getpass.getpass("Repeat password: ") != first:
            print("The two passwords do not match. Try again.", file=sys.stderr)
        else:
            return first
    raise ValueError(f"no acceptable password after {PROMPT_ATTEMPTS} tries")


def run_add(args: argparse.Namespace) -> int:
    from mlops.services.auth import create_user

    user = create_user(
        args.services.warehouse,
        args.username,
        read_password(args.password_stdin),
        args.role,
        actor=system_user(),
    )
    print(f"created {user.username} ({', '.join(sorted(user.roles))})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from mlops.services.auth import list_users

    accounts = list_users(args.services.warehouse)
    if not accounts:
        print("no accounts; create one with: python -m mlops users add NAME --role admin")
        return 0
    for account in accounts:
        state = (
            "disabled"
            if account.disabled
            else (f"locked until {account.locked_until}" if account.locked_until else "active")
        )
        print(f"{account.username}\t{','.join(sorted(account.roles))}\t{state}\t{account.created_at}")
    return 0


def run_roles(args: argparse.Namespace) -> int:
    from mlops.services.auth import set_roles

    user = set_roles(args.services.warehouse, args.username, args.role, actor=system_user())
    print(f"{user.username}: {', '.join(sorted(user.roles))}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    from mlops.services.auth import set_password

    set_password(
        args.services.warehouse, args.username, read_password(args.password_stdin), actor=system_user()
    )
    print(f"password set for {args.username}")
    return 0
