"""The first admin: the one account created without signing in (`python -m mlops users add`
while no enabled admin account exists). After that every account change needs an admin."""

from __future__ import annotations

from collections.abc import Iterable

from mlops.adapters.warehouse.repositories import Source, repositories
from mlops.services import auth
from mlops.services.identity import User, system_user


def needs_first_admin(source: Source) -> bool:
    """True while no enabled account holds the admin role."""
    return not any("admin" in u.roles and not u.disabled for u in repositories(source).users.all())


def create_first_admin(source: Source, username: str, password: str, roles: Iterable[str]) -> User:
    """Create the first admin (its roles must include admin). The check and the creation share
    one transaction holding the `users` lock, so two at once create one admin. AuthError when an
    enabled admin exists already."""
    chosen = sorted({str(r).strip().lower() for r in roles})
    if "admin" not in chosen:
        raise auth.AuthError("there is no admin yet: the first account needs --role admin")
    with repositories(source).transaction(auth.LOCK) as tx:
        if not needs_first_admin(tx):
            raise auth.AuthError(
                "an admin account exists: sign in as an admin (--user NAME or a service token) to add users"
            )
        return auth.create_user(tx, username, password, chosen, actor=system_user())
