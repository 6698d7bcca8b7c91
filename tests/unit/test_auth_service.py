"""Local accounts over in-memory repositories: creation, roles, throttled sign-in, disabling;
hashing and the SQL are tested in tests/integration/test_auth.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mlops.services import auth
from mlops.services.auth import AccountLocked, AuthError
from mlops.services.identity import PermissionDenied, User, system_user
from tests.fakes import MemoryRepositories

NOW = datetime(2026, 11, 2, 9, 0, 0)


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch):
    monkeypatch.setattr(auth, "SCRYPT_N", 2**4)


@pytest.fixture
def repos():
    repos = MemoryRepositories()
    auth.create_user(repos, "ada", "correct-horse-1", ["admin"], system_user())
    return repos


def test_created_users_sign_in_with_their_roles_and_are_audited(repos):
    assert auth.authenticate(repos, "ada", "correct-horse-1") == User("ada", frozenset({"admin"}))
    assert repos.audit.events(action="user.create")[0].details == {"roles": ["admin"]}
    assert [a.username for a in auth.list_users(repos)] == ["ada"]
    with pytest.raises(AuthError, match="already exists"):
        auth.create_user(repos, "ada", "correct-horse-1", ["admin"], system_user())


def test_wrong_passwords_lock_the_account_with_a_growing_wait(repos):
    for _ in range(auth.FREE_ATTEMPTS - 1):
        with pytest.raises(AuthError, match="wrong username or password"):
            auth.authenticate(repos, "ada", "wrong-password", now=NOW)
    with pytest.raises(AccountLocked) as locked:
        auth.authenticate(repos, "ada", "wrong-password", now=NOW)
    assert locked.value.retry_after_s == auth.BACKOFF_BASE_S
    with pytest.raises(AccountLocked):  # even the right password waits
        auth.authenticate(repos, "ada", "correct-horse-1", now=NOW + timedelta(seconds=1))
    later = NOW + timedelta(seconds=auth.BACKOFF_BASE_S)
    assert auth.authenticate(repos, "ada", "correct-horse-1", now=later).username == "ada"
    assert repos.users.get("ada").failed_logins == 0 and repos.users.get("ada").locked_until is None


def test_unknown_names_and_disabled_accounts(repos):
    with pytest.raises(AuthError, match="wrong username or password"):
        auth.authenticate(repos, "nobody", "whatever-123")
    auth.set_disabled(repos, "ada", True, User("root", frozenset({"admin"})))
    assert auth.get_user(repos, "ada") is None
    for password in ("correct-horse-1", "wrong-horse-1"):  # the same answer: nothing confirmed
        with pytest.raises(AuthError, match="^wrong username or password$"):
            auth.authenticate(repos, "ada", password)


def test_roles_and_passwords_change_only_for_admins_or_the_user(repos):
    reviewer = User("rita", frozenset({"reviewer"}))
    auth.create_user(repos, "rita", "reviewer-pass-1", ["reviewer"], User("ada", frozenset({"admin"})))
    with pytest.raises(PermissionDenied):
        auth.set_roles(repos, "rita", ["admin"], reviewer)
    auth.set_password(repos, "rita", "new-password-1", reviewer)
    assert auth.authenticate(repos, "rita", "new-password-1").roles == frozenset({"reviewer"})
    assert auth.set_roles(repos, "rita", ["stakeholder"], system_user()).roles == frozenset({"stakeholder"})
    with pytest.raises(AuthError, match="no user"):
        auth.set_roles(repos, "nobody", ["admin"], system_user())
