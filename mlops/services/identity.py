"""Who is acting: a `User` with roles, and the role check every service runs again."""
from __future__ import annotations

from dataclasses import dataclass

ROLES = ("reviewer", "stakeholder", "admin")


class PermissionDenied(PermissionError):
    """The user lacks a role the action needs; the message names the user, action and roles."""


@dataclass(frozen=True)
class User:
    """An authenticated user (or the system itself, for automatic actions)."""

    username: str
    roles: frozenset[str] = frozenset()

    def has(self, *roles: str) -> bool:
        """True when the user holds at least one of `roles`."""
        return bool(self.roles.intersection(roles))


def system_user() -> User:
    """The actor of automatic actions (monitoring alerts, CI builds, DEV deploys)."""
    return User("system", frozenset({"system"}))


def require_role(user: User | None, *roles: str, action: str = "this action") -> User:
    """Return `user` when they hold one of `roles`, else raise PermissionDenied."""
    if user is None:
        raise PermissionDenied(f"{action} needs a signed-in user with role {' or '.join(roles)}")
    if not user.has(*roles):
        raise PermissionDenied(f"{user.username} cannot {action}: needs role "
                               f"{' or '.join(roles)}, has {', '.join(sorted(user.roles)) or 'none'}")
    return user
