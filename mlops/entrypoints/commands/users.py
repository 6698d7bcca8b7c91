"""`python -m mlops users add|roles|passwd|disable|enable|list`: local accounts in the warehouse.

Every change is made by an authenticated admin (`mlops.entrypoints.actor`: `--user NAME` with
`--password-stdin` or a prompt, or a service token); `users passwd` also by the account itself.
The one exception is the first admin: while no enabled admin account exists, `users add NAME
--role admin` needs no sign-in. A new password comes from a hidden prompt (typed twice) or,
with `--new-password-stdin`, from the next line of standard input (after the actor's password
when `--password-stdin` is given too).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from mlops.entrypoints.actor import add_actor_options, authenticate_actor
from mlops.services.identity import ROLES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `users add`, `list`, `roles`, `passwd`, `disable` and `enable`."""
    parser = subparsers.add_parser("users", help="local sign-in accounts and their roles")
    actions = parser.add_subparsers(dest="users_command", required=True)
    add = actions.add_parser("add", help="create an account (the first admin needs no sign-in)")
    add.add_argument("username")
    add.add_argument(
        "--role", action="append", required=True, choices=ROLES, help="a role to grant (repeat for several)"
    )
    _new_password_option(add)
    add_actor_options(add, "the admin who creates it")
    add.set_defaults(func=run_add)
    listing = actions.add_parser("list", help="one line per account")
    listing.set_defaults(func=run_list)
    roles = actions.add_parser("roles", help="replace an account's roles")
    roles.add_argument("username")
    roles.add_argument("--role", action="append", required=True, choices=ROLES)
    add_actor_options(roles, "the admin who changes them")
    roles.set_defaults(func=run_roles)
    passwd = actions.add_parser("passwd", help="set a new password (unlocks the account)")
    passwd.add_argument("username")
    _new_password_option(passwd)
    add_actor_options(passwd, "an admin, or the account itself")
    passwd.set_defaults(func=run_passwd)
    for name, disabled in (("disable", True), ("enable", False)):
        switch = actions.add_parser(name, help=f"{name} an account (admin)")
        switch.add_argument("username")
        add_actor_options(switch, "the admin who does it")
        switch.set_defaults(func=run_disabled, disabled=disabled)


def _new_password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--new-password-stdin",
        action="store_true",
        help="read the new password from the next line of standard input (default: a prompt)",
    )


#: Tries at the hidden prompt before giving up.
PROMPT_ATTEMPTS = 5


def read_password(from_stdin: bool) -> str:
    """The new password: stdin's next line, or typed twice at a hidden prompt, which asks
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
    """Create an account as an authenticated admin, or the first admin without one."""
    from mlops.services.auth import create_user
    from mlops.services.first_admin import create_first_admin, needs_first_admin

    warehouse = args.services.warehouse
    if needs_first_admin(warehouse):
        if args.user or args.password_stdin or args.token_stdin:
            raise ValueError("there is no admin yet: create the first one without --user or a token")
        user = create_first_admin(warehouse, args.username, read_password(args.new_password_stdin), args.role)
        print(f"created {user.username} ({', '.join(sorted(user.roles))}) as the first admin")
        return 0
    actor = authenticate_actor(args, args.services)
    user = create_user(
        warehouse, args.username, read_password(args.new_password_stdin), args.role, actor=actor
    )
    print(f"created {user.username} ({', '.join(sorted(user.roles))})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from mlops.services.auth import list_users

    accounts = list_users(args.services.warehouse)
    if not accounts:
        print("no accounts; create the first admin with: python -m mlops users add NAME --role admin")
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

    actor = authenticate_actor(args, args.services)
    user = set_roles(args.services.warehouse, args.username, args.role, actor=actor)
    print(f"{user.username}: {', '.join(sorted(user.roles))}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    from mlops.services.auth import set_password

    actor = authenticate_actor(args, args.services)
    set_password(args.services.warehouse, args.username, read_password(args.new_password_stdin), actor=actor)
    print(f"password set for {args.username}")
    return 0


def run_disabled(args: argparse.Namespace) -> int:
    from mlops.services.auth import set_disabled

    actor = authenticate_actor(args, args.services)
    set_disabled(args.services.warehouse, args.username, args.disabled, actor=actor)
    print(f"{args.username} {'disabled' if args.disabled else 'enabled'}")
    return 0
