"""Local accounts: hashing, sign-in, throttling, roles, the users CLI and the OIDC role mapping."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest

from mlops.services import auth
from mlops.services.auth import (
    AccountLocked,
    AuthError,
    authenticate,
    create_user,
    get_user,
    hash_password,
    list_users,
    lock_seconds,
    set_disabled,
    set_password,
    set_roles,
    user_from_oidc,
    verify_password,
)
from mlops.services.identity import PermissionDenied, User, system_user

PASSWORD = "correct-horse-42"
ADMIN = User("boss", frozenset({"admin"}))


@pytest.fixture()
def rita(wh):
    return create_user(wh, "rita", PASSWORD, ["reviewer"], system_user())


# -- hashing -----------------------------------------------------------------------------------
def test_hash_is_salted_slow_scrypt_and_verifies():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second  # salted
    scheme, n, r, p, _, _ = first.split("$")
    assert scheme == "scrypt" and int(n) >= 2**14 and int(r) == 8
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "x", first)


@pytest.mark.parametrize(
    "stored", ["", "plain", "scrypt$1$2$3", "md5$1$1$1$AA==$AA==", "scrypt$x$8$1$AA==$AA=="]
)
def test_verify_rejects_malformed_hashes(stored):
    assert verify_password(PASSWORD, stored) is False


# -- creating accounts -------------------------------------------------------------------------
def test_create_and_get_user(wh, rita):
    assert rita == User("rita", frozenset({"reviewer"}))
    assert get_user(wh, "rita") == rita
    row = wh.query_one("SELECT password_hash, roles FROM users WHERE username = 'rita'")
    assert PASSWORD not in row["password_hash"] and json.loads(row["roles"]) == ["reviewer"]
    events = wh.query("SELECT actor, action, target FROM audit_log")
    assert events == [{"actor": "system", "action": "user.create", "target": "rita"}]


def test_get_unknown_user_is_none(wh):
    assert get_user(wh, "nobody") is None


def test_duplicate_user_is_refused(wh, rita):
    with pytest.raises(AuthError, match="already exists"):
        create_user(wh, "rita", PASSWORD, ["admin"], system_user())


@pytest.mark.parametrize("username", ["", " ", "-lead", "a b", "x" * 129, "rita;drop"])
def test_bad_usernames_are_refused(wh, username):
    with pytest.raises(AuthError, match="username"):
        create_user(wh, username, PASSWORD, ["reviewer"], system_user())


def test_username_length_boundary(wh):
    assert create_user(wh, "x" * 128, PASSWORD, ["reviewer"], system_user()).username == "x" * 128


@pytest.mark.parametrize(
    "password,ok", [("1234567", False), ("12345678", True), ("p" * 1024, True), ("p" * 1025, False)]
)
def test_password_length_boundaries(wh, password, ok):
    if ok:
        create_user(wh, "u1", password, ["reviewer"], system_user())
        assert authenticate(wh, "u1", password).username == "u1"
    else:
        with pytest.raises(AuthError, match="password"):
            create_user(wh, "u1", password, ["reviewer"], system_user())


@pytest.mark.parametrize("roles", [[], ["superuser"], ["reviewer", "root"]])
def test_bad_roles_are_refused(wh, roles):
    with pytest.raises(AuthError, match="roles"):
        create_user(wh, "u1", PASSWORD, roles, system_user())


def test_only_admins_create_users(wh, rita):
    with pytest.raises(PermissionDenied):
        create_user(wh, "mallory", PASSWORD, ["admin"], rita)
    with pytest.raises(PermissionDenied):
        create_user(wh, "mallory", PASSWORD, ["admin"], None)
    assert create_user(wh, "ann", PASSWORD, ["admin"], ADMIN).roles == {"admin"}


def test_several_roles_and_set_roles(wh, rita):
    assert set_roles(wh, "rita", ["reviewer", "stakeholder"], ADMIN).roles == {"reviewer", "stakeholder"}
    assert get_user(wh, "rita").roles == {"reviewer", "stakeholder"}
    with pytest.raises(PermissionDenied):
        set_roles(wh, "rita", ["admin"], rita)
    with pytest.raises(AuthError, match="no user"):
        set_roles(wh, "ghost", ["admin"], ADMIN)


# -- signing in --------------------------------------------------------------------------------
def test_authenticate_happy_path(wh, rita):
    assert authenticate(wh, "rita", PASSWORD) == rita


def test_unknown_user_and_wrong_password_give_the_same_message(wh, rita):
    with pytest.raises(AuthError) as unknown:
        authenticate(wh, "ghost", PASSWORD)
    with pytest.raises(AuthError) as wrong:
        authenticate(wh, "rita", "wrong-password")
    assert str(unknown.value) == str(wrong.value) == "wrong username or password"


@pytest.mark.parametrize("username,password", [("", PASSWORD), ("rita", ""), (None, PASSWORD)])
def test_empty_credentials(wh, rita, username, password):
    with pytest.raises(AuthError, match="enter a username and a password"):
        authenticate(wh, username, password)


def test_lock_seconds_backoff():
    assert [lock_seconds(n) for n in range(auth.FREE_ATTEMPTS)] == [0] * auth.FREE_ATTEMPTS
    first = lock_seconds(auth.FREE_ATTEMPTS)
    assert first == auth.BACKOFF_BASE_S and lock_seconds(auth.FREE_ATTEMPTS + 1) == 2 * first
    assert lock_seconds(200) == auth.BACKOFF_MAX_S


def test_repeated_wrong_passwords_lock_with_growing_backoff(wh, rita):
    now = datetime(2026, 1, 1, 12, 0, 0)
    for _ in range(auth.FREE_ATTEMPTS - 1):
        with pytest.raises(AuthError) as error:
            authenticate(wh, "rita", "bad-password", now=now)
        assert not isinstance(error.value, AccountLocked)
    with pytest.raises(AccountLocked) as locked:
        authenticate(wh, "rita", "bad-password", now=now)
    assert locked.value.retry_after_s == auth.BACKOFF_BASE_S
    # while locked, even the right password is refused (and not checked)
    with pytest.raises(AccountLocked):
        authenticate(wh, "rita", PASSWORD, now=now + timedelta(seconds=1))
    # after the lock, one more wrong password locks for twice as long
    later = now + timedelta(seconds=auth.BACKOFF_BASE_S)
    with pytest.raises(AccountLocked) as longer:
        authenticate(wh, "rita", "bad-password", now=later)
    assert longer.value.retry_after_s == 2 * auth.BACKOFF_BASE_S
    row = wh.query_one("SELECT failed_logins, locked_until FROM users WHERE username = 'rita'")
    assert row["failed_logins"] == auth.FREE_ATTEMPTS + 1 and row["locked_until"]


def test_success_after_lock_expires_resets_the_count(wh, rita):
    now = datetime(2026, 1, 1, 12, 0, 0)
    for _ in range(auth.FREE_ATTEMPTS):
        with pytest.raises(AuthError):
            authenticate(wh, "rita", "bad-password", now=now)
    assert authenticate(wh, "rita", PASSWORD, now=now + timedelta(seconds=auth.BACKOFF_BASE_S)) == rita
    row = wh.query_one("SELECT failed_logins, locked_until FROM users WHERE username = 'rita'")
    assert row["failed_logins"] == 0 and row["locked_until"] is None


def test_disabled_accounts_cannot_sign_in(wh, rita):
    set_disabled(wh, "rita", True, ADMIN)
    for password in (PASSWORD, "bad-password"):  # the same answer: the password is not confirmed
        with pytest.raises(AuthError, match="^wrong username or password$"):
            authenticate(wh, "rita", password)
    assert get_user(wh, "rita") is None
    set_disabled(wh, "rita", False, ADMIN)
    assert authenticate(wh, "rita", PASSWORD) == rita


def test_set_password_unlocks_and_needs_admin_for_others(wh, rita):
    with pytest.raises(PermissionDenied):
        set_password(wh, "boss", "new-password-1", rita)
    set_password(wh, "rita", "new-password-1", rita)
    with pytest.raises(AuthError):
        authenticate(wh, "rita", PASSWORD)
    assert authenticate(wh, "rita", "new-password-1") == rita


def test_list_users_never_shows_hashes(wh, rita):
    accounts = list_users(wh)
    assert [a.username for a in accounts] == ["rita"]
    assert not hasattr(accounts[0], "password_hash")


# -- CLI ---------------------------------------------------------------------------------------
def test_users_cli_add_and_list(tmp_path, monkeypatch, capsys):
    from mlops.entrypoints.cli import main

    monkeypatch.setenv("SEA_HOME", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))  # the first admin: no sign-in
    assert (
        main(["users", "add", "alice", "--role", "admin", "--role", "reviewer", "--new-password-stdin"]) == 0
    )
    assert "created alice (admin, reviewer)" in capsys.readouterr().out
    assert main(["users", "list"]) == 0
    assert "alice\tadmin,reviewer\tactive" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\nshort\n"))  # alice's, then bob's
    argv = ["users", "add", "bob", "--role", "reviewer", "--user", "alice", "--password-stdin"]
    assert main([*argv, "--new-password-stdin"]) == 1
    assert "at least 8 characters" in capsys.readouterr().err


def test_users_cli_rejects_unknown_role(tmp_path, monkeypatch):
    from mlops.entrypoints.cli import main

    monkeypatch.setenv("SEA_HOME", str(tmp_path))
    with pytest.raises(SystemExit):
        main(["users", "add", "bob", "--role", "owner", "--password-stdin"])


# -- OIDC --------------------------------------------------------------------------------------
MAPPING = {
    "emails": {"Alice@Example.com": ["admin"]},
    "groups": {"sea-reviewers": ["reviewer"]},
    "domains": {"partner.org": "stakeholder"},
    "groups_claim": "groups",
}


def test_oidc_maps_email_group_and_domain():
    user = user_from_oidc({"email": "alice@example.com", "groups": ["sea-reviewers", "other"]}, MAPPING)
    assert user == User("alice@example.com", frozenset({"admin", "reviewer"}))
    assert user_from_oidc({"email": "bo@partner.org"}, MAPPING).roles == {"stakeholder"}


def test_oidc_unmatched_identity_has_no_roles_and_unknown_roles_are_dropped():
    assert user_from_oidc({"email": "eve@evil.com", "groups": "sea-admins"}, MAPPING).roles == frozenset()
    odd = {"emails": {"eve@x.org": ["root", "reviewer"]}}
    assert user_from_oidc({"email": "eve@x.org"}, odd).roles == {"reviewer"}


def test_oidc_custom_group_claim_and_sub_fallback():
    mapping = {"groups": {"ops": ["admin"]}, "groups_claim": "roles"}
    user = user_from_oidc({"sub": "abc-123", "roles": ["ops"]}, mapping)
    assert user == User("abc-123", frozenset({"admin"}))


def test_oidc_without_identity_is_refused():
    with pytest.raises(AuthError, match="no email"):
        user_from_oidc({"groups": ["sea-reviewers"]}, MAPPING)
