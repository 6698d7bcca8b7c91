"""Who is acting: a `User` with roles, and the role check every service runs again.

A `User` says where it came from (`origin`, not part of equality):
- `account`: a local account of the `users` table (`auth.authenticate`, `auth.get_user`). A
  session keeps such a user for a while, so services re-read the account at every check
  (`current_user`): its roles now, and no action at all once it is disabled, locked or gone.
- `oidc`: mapped from an identity provider's claims at sign-in (`auth.user_from_oidc`); the
  roles are the provider's, but a disabled local account of the same name stops it.
- `process`: built by the code itself (the system user of automatic actions, tests); taken as
  it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mlops.adapters.warehouse.repositories import Source, repositories

ROLES = ("reviewer", "stakeholder", "admin")
ACCOUNT, OIDC, PROCESS = "account", "oidc", "process"


class PermissionDenied(PermissionError):
    """The user lacks a role the action needs; the message names the user, action and roles."""


@dataclass(frozen=True)
class User:
    """An authenticated user (or the system itself, for automatic actions)."""

    username: str
    roles: frozenset[str] = frozenset()
    origin: str = field(default=PROCESS, compare=False)

    def has(self, *roles: str) -> bool:
        """True when the user holds at least one of `roles`."""
        return bool(self.roles.intersection(roles))


def system_user() -> User:
    """The actor of automatic actions (monitoring alerts, CI builds, DEV deploys)."""
    return User("system", frozenset({"system"}))


def current_user(source: Source, user: User | None, now: datetime | None = None) -> User | None:
    """`user` as the warehouse knows it now (see the module doc); PermissionDenied when its
    account is gone, disabled or locked."""
    if user is None or user.origin == PROCESS:
        return user
    stored = repositories(source).users.get(user.username)
    if user.origin == OIDC:
        if stored is not None and stored.disabled:
            raise PermissionDenied(f"the account {user.username!r} is disabled")
        return user
    if stored is None or stored.disabled or stored.is_locked(now):
        state = "gone" if stored is None else "disabled" if stored.disabled else "locked"
        raise PermissionDenied(
            f"the account {user.username!r} is {state}: sign in again once an admin restored it"
        )
    return User(stored.username, stored.roles, ACCOUNT)


def require_role(
    user: User | None, *roles: str, action: str = "this action", source: Source | None = None
) -> User:
    """Return `user` when they hold one of `roles`, else raise PermissionDenied. With `source`
    (the warehouse), the account is re-read first (`current_user`) and the user returned is
    the current one."""
    if source is not None:
        user = current_user(source, user)
    if user is None:
        raise PermissionDenied(f"{action} needs a signed-in user with role {' or '.join(roles)}")
    if not user.has(*roles):
        raise PermissionDenied(
            f"{user.username} cannot {action}: needs role "
            f"{' or '.join(roles)}, has {', '.join(sorted(user.roles)) or 'none'}"
        )
    return user
