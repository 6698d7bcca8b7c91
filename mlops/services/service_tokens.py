"""Service tokens: how CI and cron act on the command line without a person's password.

An admin issues a token under a name with a set of roles (`issue_token`); its text
`sea_<id>.<secret>` is shown once and never stored: the warehouse keeps the sha256 of the
secret (a 256-bit random value, so a plain hash is enough), compared in constant time. A token
acts as the user `token:<name>` with exactly its roles (checked when a command starts), until it
expires or an admin revokes it (`revoke_token`). One name has at most one active token; a
revoked or expired name can be issued again. Issuing, revoking and failed uses are audited.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mlops.adapters.warehouse.repositories import Source, repositories
from mlops.adapters.warehouse.tokens import StoredToken
from mlops.domain.clock import timestamp, utc
from mlops.services import audit
from mlops.services.auth import ADMIN_ROLES, AuthError
from mlops.services.identity import PROCESS, ROLES, User, require_role

TOKEN_PREFIX = "sea_"
ACTOR_PREFIX = "token:"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SECRET_BYTES = 32
MAX_EXPIRES_DAYS = 3650
#: The table whose write lock serialises issuing and revoking.
LOCK = "service_tokens"
ACTIVE, REVOKED, EXPIRED = "active", "revoked", "expired"


class TokenError(AuthError):
    """A token request is invalid or a token is refused; the message is safe to show."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed to admins (never the secret or its hash)."""

    name: str
    roles: frozenset[str]
    state: str
    created_at: str
    created_by: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `token` is the text to hand to CI (shown once), `info` what is stored."""

    token: str
    info: TokenInfo


def actor_name(name: str) -> str:
    """The user name a token acts as (`token:<name>`), as the audit log records it."""
    return f"{ACTOR_PREFIX}{name}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(token: StoredToken, now: datetime | None = None) -> TokenInfo:
    state = REVOKED if token.revoked_at else EXPIRED if token.is_expired(now) else ACTIVE
    return TokenInfo(
        token.name,
        token.roles,
        state,
        token.created_at,
        token.created_by,
        token.expires_at,
        token.revoked_at,
        token.last_used_at,
    )


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise TokenError("token name: 1-64 letters, digits, _ or - (starting with a letter or digit)")
    return name


def _check_roles(roles: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(str(r).strip().lower() for r in roles if str(r).strip())
    if not chosen:
        raise TokenError(f"token roles: give at least one of {', '.join(ROLES)}")
    unknown = sorted(chosen - set(ROLES))
    if unknown:
        raise TokenError(f"token roles: unknown role {unknown[0]!r}; expected {', '.join(ROLES)}")
    return chosen


def _check_days(expires_days: int | None) -> int | None:
    if expires_days is None:
        return None
    if isinstance(expires_days, bool) or not isinstance(expires_days, int):
        raise TokenError("expires-days: a whole number of days")
    if not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise TokenError(f"expires-days: between 1 and {MAX_EXPIRES_DAYS}")
    return expires_days


def issue_token(
    source: Source,
    name: str,
    roles: Iterable[str],
    actor: User,
    *,
    expires_days: int | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """Issue a token `name` with `roles` (admin only), valid for `expires_days` (None: until
    revoked). TokenError when the name already has an active token."""
    actor = require_role(actor, *ADMIN_ROLES, action="issue service tokens", source=source)
    name, chosen, days = _check_name(name), _check_roles(roles), _check_days(expires_days)
    now = utc(now)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    stored = StoredToken(
        uuid.uuid4().hex,
        name,
        _hash(secret),
        chosen,
        timestamp(now),
        actor.username,
        timestamp(now + timedelta(days=days)) if days else None,
    )
    with repositories(source).transaction(LOCK) as tx:
        if any(t.is_active(now) for t in tx.tokens.named(name)):
            raise TokenError(f"service token {name!r} is active: revoke it first (tokens revoke {name})")
        tx.tokens.add(stored)
        audit.record(
            tx,
            actor.username,
            "token.issue",
            actor_name(name),
            {"roles": sorted(chosen), "expires_at": stored.expires_at},
        )
    return IssuedToken(f"{TOKEN_PREFIX}{stored.token_id}.{secret}", _info(stored, now))


def revoke_token(source: Source, name: str, actor: User, now: datetime | None = None) -> TokenInfo:
    """Revoke the active token `name` (admin only); TokenError when it has none."""
    actor = require_role(actor, *ADMIN_ROLES, action="revoke service tokens", source=source)
    name, now = _check_name(name), utc(now)
    with repositories(source).transaction(LOCK) as tx:
        active = [t for t in tx.tokens.named(name) if t.is_active(now)]
        if not active:
            raise TokenError(f"no active service token {name!r}")
        for token in active:
            tx.tokens.revoke(token.token_id, timestamp(now), actor.username)
        audit.record(tx, actor.username, "token.revoke", actor_name(name), {})
    return _info(replace(active[-1], revoked_at=timestamp(now), revoked_by=actor.username), now)


def list_tokens(source: Source, actor: User, now: datetime | None = None) -> list[TokenInfo]:
    """Every token ever issued, by name (admin only; states at `now`)."""
    require_role(actor, *ADMIN_ROLES, action="list service tokens", source=source)
    return [_info(t, now) for t in repositories(source).tokens.all()]


def _refuse(source: Source, token: StoredToken | None, reason: str, message: str) -> TokenError:
    if token is not None:
        with repositories(source).transaction() as tx:
            audit.record(
                tx, actor_name(token.name), "token.auth_failed", actor_name(token.name), {"reason": reason}
            )
    return TokenError(message)


def authenticate_token(source: Source, token: str, now: datetime | None = None) -> User:
    """The user (`token:<name>`, the token's roles) a token text acts as. TokenError, the same
    for a malformed, unknown or wrong token, or naming the token once its secret is right but it
    is revoked or expired."""
    now = utc(now)
    text = token.strip() if isinstance(token, str) else ""
    token_id, _, secret = text.removeprefix(TOKEN_PREFIX).partition(".")
    if not text.startswith(TOKEN_PREFIX) or not token_id or not secret or len(text) > 256:
        raise TokenError("invalid service token")
    repos = repositories(source)
    stored = repos.tokens.get(token_id)
    if stored is None or not hmac.compare_digest(_hash(secret), stored.secret_hash):
        raise _refuse(source, stored, "wrong secret", "invalid service token")
    if stored.revoked_at:
        raise _refuse(source, stored, "revoked", f"service token {stored.name!r} was revoked")
    if stored.is_expired(now):
        raise _refuse(
            source, stored, "expired", f"service token {stored.name!r} expired at {stored.expires_at}"
        )
    repos.tokens.touch(stored.token_id, timestamp(now))
    return User(actor_name(stored.name), stored.roles, PROCESS)
