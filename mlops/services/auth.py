"""Local accounts in the warehouse (salted scrypt hashes, throttled sign-in) and the mapping
from an OIDC identity (email or group claims) to SEA roles.

Stored hash format: `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`. After `FREE_ATTEMPTS` wrong
passwords in a row an account is locked for a time that doubles with each further failure
(`BACKOFF_BASE_S`, at most `BACKOFF_MAX_S`); a successful sign-in resets the count.

Each sign-in first claims its attempt, in one transaction holding the `users` lock: it counts
the attempt (in the store, not read and written back) and, when that attempt would reach the
lock, already sets the lock. Only then is the password checked; a right one clears the count
and the lock again. So guesses in parallel cannot beat the lock: however many arrive at once,
exactly `FREE_ATTEMPTS` passwords are checked before it holds. A disabled account answers
"wrong username or password" whatever the password, and never signs in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mlops.adapters.warehouse.repositories import Source, repositories
from mlops.adapters.warehouse.users import StoredUser
from mlops.domain.clock import timestamp, utc
from mlops.services import audit
from mlops.services.identity import ACCOUNT, OIDC, ROLES, User, require_role

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
SALT_BYTES = 16
HASH_BYTES = 32
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
FREE_ATTEMPTS = 3
BACKOFF_BASE_S = 2
BACKOFF_MAX_S = 15 * 60
ADMIN_ROLES = ("admin", "system")
#: The table whose write lock serialises sign-in attempts and admin-count checks.
LOCK = "users"


class AuthError(ValueError):
    """Sign-in failed or an account request is invalid; the message is safe to show."""


class AccountLocked(AuthError):
    """Too many wrong passwords in a row; `retry_after_s` says when to try again."""

    def __init__(self, username: str, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"too many failed sign-ins for {username}; try again in {retry_after_s} s")


# -- passwords ---------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    """A salted scrypt hash of `password` in the stored format."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=SCRYPT_MAXMEM,
        dklen=HASH_BYTES,
    )
    return "$".join(
        [
            "scrypt",
            str(SCRYPT_N),
            str(SCRYPT_R),
            str(SCRYPT_P),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a stored hash (constant-time compare; False when malformed)."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        salt_bytes, expected_bytes = base64.b64decode(salt), base64.b64decode(expected)
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt_bytes,
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=SCRYPT_MAXMEM,
            dklen=len(expected_bytes),
        )
    except (ValueError, TypeError, AttributeError):
        return False
    return hmac.compare_digest(digest, expected_bytes)


_DUMMY_HASH: str | None = None


def _burn_time(password: str) -> None:
    """Spend the time of a real check, so unknown names answer as slowly as known ones."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    verify_password(password, _DUMMY_HASH)


# -- validation --------------------------------------------------------------------------------
def _check_username(username: str) -> str:
    if not isinstance(username, str) or not USERNAME_PATTERN.match(username):
        raise AuthError(
            "username: 1-128 characters from letters, digits and _.@+- (starting with a letter or digit)"
        )
    return username


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise AuthError(f"password: at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AuthError(f"password: at most {MAX_PASSWORD_CHARS} characters")
    return password


def _check_roles(roles: Iterable[str]) -> list[str]:
    chosen = sorted({str(r).strip().lower() for r in roles})
    if not chosen:
        raise AuthError(f"roles: give at least one of {', '.join(ROLES)}")
    unknown = [r for r in chosen if r not in ROLES]
    if unknown:
        raise AuthError(f"roles: unknown role {unknown[0]!r}; expected {', '.join(ROLES)}")
    return chosen


# -- accounts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    """A stored account as listed to admins (never the hash)."""

    username: str
    roles: frozenset[str]
    created_at: str
    disabled: bool
    failed_logins: int
    locked_until: str | None


def _account(user: StoredUser) -> Account:
    return Account(
        user.username, user.roles, user.created_at, user.disabled, user.failed_logins, user.locked_until
    )


def create_user(warehouse: Source, username: str, password: str, roles: Iterable[str], actor: User) -> User:
    """Create a local account (actor: an admin, or the system user for the first admin)."""
    actor = require_role(actor, *ADMIN_ROLES, action="create users", source=warehouse)
    username, password, chosen = _check_username(username), _check_password(password), _check_roles(roles)
    password_hash = hash_password(password)
    with repositories(warehouse).transaction() as tx:
        if tx.users.get(username) is not None:
            raise AuthError(f"user {username!r} already exists")
        tx.users.add(StoredUser(username, password_hash, frozenset(chosen), timestamp()))
        audit.record(tx, actor.username, "user.create", username, {"roles": chosen})
    return User(username, frozenset(chosen), ACCOUNT)


def get_user(warehouse: Source, username: str) -> User | None:
    """The enabled, unlocked user with this name, or None."""
    stored = repositories(warehouse).users.get(username) if isinstance(username, str) else None
    if stored is None or stored.disabled or stored.is_locked():
        return None
    return User(stored.username, stored.roles, ACCOUNT)


def list_users(warehouse: Source) -> list[Account]:
    """Every account, by name."""
    return [_account(user) for user in repositories(warehouse).users.all()]


def _existing(tx: Any, username: str) -> StoredUser:
    stored = tx.users.get(username)
    if stored is None:
        raise AuthError(f"no user {username!r}")
    return stored


def _keep_an_admin(tx: Any, stored: StoredUser, roles: Iterable[str]) -> None:
    """Refuse new roles that leave no enabled admin account (e.g. the last admin removing
    their own admin role)."""
    if "admin" not in stored.roles or stored.disabled or "admin" in roles:
        return
    others = [
        u for u in tx.users.all() if u.username != stored.username and "admin" in u.roles and not u.disabled
    ]
    if not others:
        raise AuthError(f"{stored.username} is the last enabled admin: make another admin first")


def set_roles(warehouse: Source, username: str, roles: Iterable[str], actor: User) -> User:
    """Replace a user's roles (admin only)."""
    actor = require_role(actor, *ADMIN_ROLES, action="change roles", source=warehouse)
    chosen = _check_roles(roles)
    with repositories(warehouse).transaction(LOCK) as tx:
        stored = _existing(tx, username)
        _keep_an_admin(tx, stored, chosen)
        tx.users.set_roles(username, chosen)
        audit.record(tx, actor.username, "user.set_roles", username, {"roles": chosen})
    return User(username, frozenset(chosen), ACCOUNT)


def set_password(warehouse: Source, username: str, password: str, actor: User) -> None:
    """Set a new password (admin, or the user themself) and unlock the account."""
    if actor.username != username:
        actor = require_role(actor, *ADMIN_ROLES, action="change another user's password", source=warehouse)
    password_hash = hash_password(_check_password(password))
    with repositories(warehouse).transaction() as tx:
        _existing(tx, username)
        tx.users.set_password_hash(username, password_hash)
        audit.record(tx, actor.username, "user.set_password", username, {})


def set_disabled(warehouse: Source, username: str, disabled: bool, actor: User) -> None:
    """Disable (or enable again) an account (admin only)."""
    actor = require_role(actor, *ADMIN_ROLES, action="disable users", source=warehouse)
    with repositories(warehouse).transaction() as tx:
        _existing(tx, username)
        tx.users.set_disabled(username, disabled)
        audit.record(tx, actor.username, "user.disable" if disabled else "user.enable", username, {})


def lock_seconds(failed_logins: int) -> int:
    """How long an account stays locked after `failed_logins` wrong passwords in a row."""
    if failed_logins < FREE_ATTEMPTS:
        return 0
    return min(BACKOFF_BASE_S * 2 ** (failed_logins - FREE_ATTEMPTS), BACKOFF_MAX_S)


def authenticate(warehouse: Source, username: str, password: str, now: datetime | None = None) -> User:
    """The user when the password is right; AuthError (same message for an unknown name, a
    wrong password and a disabled account) or AccountLocked while the account is locked (the
    password is not checked). See the module doc for how attempts are counted."""
    now = utc(now)
    generic = AuthError("wrong username or password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise AuthError("enter a username and a password")
    if len(password) > MAX_PASSWORD_CHARS or not USERNAME_PATTERN.match(username):
        raise generic
    repos = repositories(warehouse)
    with repos.transaction(LOCK) as tx:  # claim this attempt before checking the password
        stored = tx.users.get(username)
        if stored is not None and stored.is_locked(now):
            raise AccountLocked(username, max(1, int(stored.locked_for_s(now) + 0.999)))
        failures = 0
        if stored is not None and not stored.disabled:
            failures = tx.users.add_failure(username)
            wait = lock_seconds(failures)
            if wait:
                tx.users.set_failures(username, failures, timestamp(now + timedelta(seconds=wait)))
    if stored is None or stored.disabled:
        verify_password(password, stored.password_hash) if stored else _burn_time(password)
        raise generic
    if verify_password(password, stored.password_hash):
        repos.users.set_failures(username, 0, None)
        return User(stored.username, stored.roles, ACCOUNT)
    with repos.transaction() as tx:
        audit.record(tx, username, "user.login_failed", username, {"failed_logins": failures})
    wait = lock_seconds(failures)
    if wait:
        raise AccountLocked(username, wait)
    raise generic


# -- OIDC --------------------------------------------------------------------------------------
def user_from_oidc(claims: Mapping[str, Any], mapping: Mapping[str, Any]) -> User:
    """The SEA user for an OIDC identity (e.g. Streamlit's `st.user`).

    `mapping` (the `[sea_roles]` secrets section): `emails` {email: [roles]}, `groups`
    {group: [roles]}, `domains` {"example.com": [roles]}, `groups_claim` (default "groups").
    Roles are the union of every match (emails and domains compared case-insensitively); a
    user matching nothing gets no roles. Raises AuthError when the claims carry no identity.
    """
    email = str(claims.get("email") or "").strip()
    username = email or str(claims.get("preferred_username") or claims.get("sub") or "").strip()
    if not username:
        raise AuthError("the identity provider sent no email, preferred_username or sub claim")
    roles: set[str] = set()

    def grant(values: Any) -> None:
        items = [values] if isinstance(values, str) else list(values or [])
        roles.update(r for r in (str(v).strip().lower() for v in items) if r in ROLES)

    if email:
        for key, granted in (mapping.get("emails") or {}).items():
            if key.strip().lower() == email.lower():
                grant(granted)
        domain = email.rsplit("@", 1)[-1].lower() if "@" in email else ""
        for key, granted in (mapping.get("domains") or {}).items():
            if domain and key.strip().lower().lstrip("@") == domain:
                grant(granted)
    claim = claims.get(str(mapping.get("groups_claim") or "groups")) or []
    groups = {claim} if isinstance(claim, str) else {str(g) for g in claim}
    for key, granted in (mapping.get("groups") or {}).items():
        if key in groups:
            grant(granted)
    return User(username, frozenset(roles), OIDC)
