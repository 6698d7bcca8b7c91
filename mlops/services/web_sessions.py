"""Server-side sign-in sessions for the web app, so that a reload, a typed URL or a bookmark
keeps the user signed in for the session's lifetime.

The flow (`mlops.entrypoints.ui.session_routes` holds the HTTP side):
1. the user signs in on the Streamlit page; `begin` stores a *pending* session and returns a
   one-time claim code (valid `CLAIM_TTL_S` seconds);
2. the browser is sent to `/api/session/claim?code=...`; `claim` swaps the code for a new random
   session id (the pending row is deleted, an *active* row stored) that the route puts in an
   HTTP-only, SameSite=Lax cookie (Secure over HTTPS);
3. every later page load reads the cookie server-side and `resolve`s it to the username;
4. signing out `end`s the session (the row is deleted: the cookie is worthless from then on).

Only a SHA-256 of each secret is stored, so a copy of the table signs nobody in. Secrets are
`secrets.token_urlsafe(32)` (256 bits).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlops.adapters.warehouse.sessions import ACTIVE, PENDING, SessionRepository, StoredSession
from mlops.domain.clock import timestamp, utc

#: Seconds a claim code stays valid (the redirect right after sign-in uses it at once).
CLAIM_TTL_S = 60
#: The cookie that carries the session id.
COOKIE_NAME = "sea_session"
#: The longest secret accepted (token_urlsafe(32) is 43 characters): longer input is refused
#: before hashing.
MAX_SECRET_CHARS = 128


class SessionError(ValueError):
    """A session cannot be started (bad arguments)."""


@dataclass(frozen=True)
class ActiveSession:
    """A resolved session: who, how they signed in, and until when."""

    username: str
    method: str
    expires_at: str


def secret_hash(secret: str) -> str:
    """The stored form of a session secret (SHA-256, hex)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _usable(secret: str | None) -> bool:
    return isinstance(secret, str) and 0 < len(secret) <= MAX_SECRET_CHARS


def begin(repo: SessionRepository, username: str, method: str = "local", now: datetime | None = None) -> str:
    """Store a pending session for `username` and return its one-time claim code. Expired
    sessions are purged on the way."""
    if not username:
        raise SessionError("a session needs a username")
    moment = utc(now)
    repo.delete_expired(timestamp(moment))
    code = secrets.token_urlsafe(32)
    repo.add(
        StoredSession(
            secret_hash(code),
            username,
            method,
            PENDING,
            timestamp(moment),
            timestamp(moment + timedelta(seconds=CLAIM_TTL_S)),
        )
    )
    return code


def claim(
    repo: SessionRepository, code: str | None, ttl_s: int, now: datetime | None = None
) -> tuple[str, ActiveSession] | None:
    """Swap a claim code for a new session id (to put in the cookie) and the session it opens,
    valid `ttl_s` seconds; None when the code is unknown, used already or expired."""
    if ttl_s < 1:
        raise SessionError(f"a session lasts at least 1 second, got {ttl_s}")
    if not _usable(code):
        return None
    moment = utc(now)
    hashed = secret_hash(code or "")
    pending = repo.get(hashed)
    if pending is None or pending.state != PENDING or not repo.take_pending(hashed, timestamp(moment)):
        return None
    session_id = secrets.token_urlsafe(32)
    expires = timestamp(moment + timedelta(seconds=ttl_s))
    repo.add(
        StoredSession(
            secret_hash(session_id), pending.username, pending.method, ACTIVE, timestamp(moment), expires
        )
    )
    return session_id, ActiveSession(pending.username, pending.method, expires)


def resolve(
    repo: SessionRepository, session_id: str | None, now: datetime | None = None
) -> ActiveSession | None:
    """The active, unexpired session of a cookie's session id, or None."""
    if not _usable(session_id):
        return None
    stored = repo.get(secret_hash(session_id or ""))
    if stored is None or stored.state != ACTIVE or stored.expires_at <= timestamp(utc(now)):
        return None
    return ActiveSession(stored.username, stored.method, stored.expires_at)


def end(repo: SessionRepository, session_id: str | None) -> bool:
    """Invalidate a session server-side; True when there was one."""
    if not _usable(session_id):
        return False
    return repo.delete(secret_hash(session_id or "")) > 0


def end_all(repo: SessionRepository, username: str) -> int:
    """Invalidate every session of `username` (e.g. when the account is disabled); how many."""
    return repo.delete_user(username)
