"""`python -m mlops tokens issue --name NAME --roles R[,R2] [--expires-days N]`, `tokens revoke
NAME` and `tokens list`: service tokens for CI and cron (`mlops.services.service_tokens`), each
run by an authenticated admin. `issue` prints the token once, alone on stdout."""

from __future__ import annotations

import argparse
import sys

from mlops.entrypoints.actor import add_actor_options, authenticate_actor
from mlops.services import service_tokens


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `tokens issue`, `tokens revoke` and `tokens list`."""
    parser = subparsers.add_parser("tokens", help="service tokens for CI and cron (admin)")
    actions = parser.add_subparsers(dest="tokens_command", required=True)
    issue = actions.add_parser("issue", help="issue a token (printed once)")
    issue.add_argument("--name", required=True, help="the token's name: it acts as token:NAME")
    issue.add_argument("--roles", required=True, help="comma-separated roles (reviewer, stakeholder, admin)")
    issue.add_argument(
        "--expires-days",
        type=int,
        default=None,
        metavar="N",
        help="valid for N days (default: until revoked)",
    )
    add_actor_options(issue, "the admin who issues it")
    issue.set_defaults(func=run_issue)
    revoke = actions.add_parser("revoke", help="revoke the active token NAME")
    revoke.add_argument("name")
    add_actor_options(revoke, "the admin who revokes it")
    revoke.set_defaults(func=run_revoke)
    listing = actions.add_parser("list", help="every token, never a secret")
    add_actor_options(listing, "an admin")
    listing.set_defaults(func=run_list)


def run_issue(args: argparse.Namespace) -> int:
    """Issue a token; the token alone on stdout, what it is on stderr."""
    actor = authenticate_actor(args, args.services)
    issued = service_tokens.issue_token(
        args.services.warehouse,
        args.name,
        args.roles.split(","),
        actor,
        expires_days=args.expires_days,
    )
    info = issued.info
    print(
        f"issued service token {info.name!r} ({', '.join(sorted(info.roles))}), "
        f"expires {info.expires_at or 'never'}; it acts as {service_tokens.actor_name(info.name)}. "
        "Store it now: it is not shown again.",
        file=sys.stderr,
    )
    print(issued.token)
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Revoke the active token NAME."""
    info = service_tokens.revoke_token(
        args.services.warehouse, args.name, authenticate_actor(args, args.services)
    )
    print(f"revoked service token {info.name!r} at {info.revoked_at}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """One line per token: name, roles, state, created (by), expires, last used."""
    tokens = service_tokens.list_tokens(args.services.warehouse, authenticate_actor(args, args.services))
    if not tokens:
        print("no service tokens; issue one with: python -m mlops tokens issue --name ci --roles admin")
        return 0
    for t in tokens:
        print(
            f"{t.name}\t{','.join(sorted(t.roles))}\t{t.state}\t{t.created_at} by {t.created_by}\t"
            f"expires {t.expires_at or 'never'}\tlast used {t.last_used_at or 'never'}"
        )
    return 0
