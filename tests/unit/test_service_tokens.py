"""Service tokens over in-memory repositories: issue (shown once, stored hashed), authenticate
(roles scoped, constant-time secret check), revoke, expire, list; the SQL is exercised by
tests/integration/test_actor_cli.py on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest

from mlops.services import auth, service_tokens
from mlops.services.identity import PermissionDenied, User, require_role, system_user
from mlops.services.service_tokens import TokenError
from tests.fakes import MemoryRepositories

NOW = datetime(2026, 11, 2, 9, 0, 0)


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch):
    monkeypatch.setattr(auth, "SCRYPT_N", 2**4)


@pytest.fixture
def repos():
    repos = MemoryRepositories()
    auth.create_user(repos, "ada", "correct-horse-1", ["admin"], system_user())
    auth.create_user(repos, "rita", "correct-horse-1", ["reviewer"], system_user())
    return repos


@pytest.fixture
def ada(repos):
    return auth.authenticate(repos, "ada", "correct-horse-1")


def issue(repos, ada, name="ci", roles=("admin",), **kw):
    return service_tokens.issue_token(repos, name, roles, ada, now=NOW, **kw)


# -- happy path ----------------------------------------------------------------------------------
def test_an_issued_token_acts_as_token_name_with_its_roles_and_is_stored_hashed(repos, ada):
    issued = issue(repos, ada, roles=["admin", "stakeholder"])
    assert issued.token.startswith("sea_") and issued.info.state == "active"
    user = service_tokens.authenticate_token(repos, issued.token, now=NOW)
    assert user == User("token:ci", frozenset({"admin", "stakeholder"}))
    [stored] = repos.tokens.all()
    secret = issued.token.split(".", 1)[1]
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(stored) and issued.token not in repr(stored)
    assert stored.last_used_at is not None and stored.created_by == "ada"
    event = repos.audit.events(action="token.issue")[0]
    assert (event.actor, event.target, event.details["roles"]) == (
        "ada",
        "token:ci",
        ["admin", "stakeholder"],
    )


def test_list_tokens_shows_states_and_never_a_secret(repos, ada):
    issue(repos, ada, "ci")
    issue(repos, ada, "cron", roles=["reviewer"], expires_days=1)
    service_tokens.revoke_token(repos, "ci", ada, now=NOW)
    listed = service_tokens.list_tokens(repos, ada, now=NOW)
    assert [(t.name, t.state) for t in listed] == [("ci", "revoked"), ("cron", "active")]
    assert not any(hasattr(t, "secret_hash") for t in listed)
    later = service_tokens.list_tokens(repos, ada, now=NOW + timedelta(days=1))
    assert [t.state for t in later] == ["revoked", "expired"]


# -- negative path -------------------------------------------------------------------------------
def test_a_token_with_the_reviewer_role_cannot_act_as_admin(repos, ada):
    issued = issue(repos, ada, "review-bot", roles=["reviewer"])
    user = service_tokens.authenticate_token(repos, issued.token, now=NOW)
    with pytest.raises(PermissionDenied, match="token:review-bot cannot approve a release to PROD"):
        require_role(user, "admin", action="approve a release to PROD", source=repos)


def test_a_revoked_token_is_refused_and_the_refusal_audited(repos, ada):
    issued = issue(repos, ada)
    info = service_tokens.revoke_token(repos, "ci", ada, now=NOW)
    assert info.state == "revoked" and info.revoked_at is not None
    with pytest.raises(TokenError, match="service token 'ci' was revoked"):
        service_tokens.authenticate_token(repos, issued.token, now=NOW)
    failed = repos.audit.events(action="token.auth_failed")[0]
    assert (failed.actor, failed.details) == ("token:ci", {"reason": "revoked"})
    assert repos.audit.events(action="token.revoke")[0].actor == "ada"


@pytest.mark.parametrize(
    "text",
    ["", "sea_", "sea_abc", "not-a-token", "sea_deadbeef.secret", "x" * 300, None],
)
def test_malformed_or_unknown_tokens_get_one_message(repos, ada, text):
    issue(repos, ada)
    with pytest.raises(TokenError, match="^invalid service token$"):
        service_tokens.authenticate_token(repos, text, now=NOW)


def test_a_wrong_secret_for_a_real_token_id_is_refused(repos, ada):
    issued = issue(repos, ada)
    forged = issued.token.split(".", 1)[0] + ".guessed-secret"
    with pytest.raises(TokenError, match="^invalid service token$"):
        service_tokens.authenticate_token(repos, forged, now=NOW)
    assert repos.audit.events(action="token.auth_failed")[0].details == {"reason": "wrong secret"}


def test_only_admins_issue_revoke_and_list(repos, ada):
    rita = auth.authenticate(repos, "rita", "correct-horse-1")
    for call in (
        lambda: service_tokens.issue_token(repos, "ci", ["admin"], rita),
        lambda: service_tokens.revoke_token(repos, "ci", rita),
        lambda: service_tokens.list_tokens(repos, rita),
    ):
        with pytest.raises(PermissionDenied, match="needs role admin"):
            call()
    assert repos.tokens.all() == []


@pytest.mark.parametrize(
    "name,roles,message",
    [
        ("ci", [], "give at least one"),
        ("ci", ["owner"], "unknown role 'owner'"),
        ("ci", ["system"], "unknown role 'system'"),
        ("bad name", ["admin"], "token name"),
        ("-ci", ["admin"], "token name"),
        ("a" * 65, ["admin"], "token name"),
    ],
)
def test_invalid_token_requests_are_refused(repos, ada, name, roles, message):
    with pytest.raises(TokenError, match=message):
        issue(repos, ada, name, roles)
    assert repos.tokens.all() == []


def test_one_active_token_per_name_and_revoking_nothing_is_an_error(repos, ada):
    issue(repos, ada)
    with pytest.raises(TokenError, match="'ci' is active: revoke it first"):
        issue(repos, ada)
    service_tokens.revoke_token(repos, "ci", ada, now=NOW)
    with pytest.raises(TokenError, match="no active service token 'ci'"):
        service_tokens.revoke_token(repos, "ci", ada, now=NOW)
    again = issue(repos, ada)  # a revoked name can be issued again
    assert service_tokens.authenticate_token(repos, again.token, now=NOW).username == "token:ci"


# -- edge cases ----------------------------------------------------------------------------------
def test_an_old_token_of_a_reissued_name_stays_revoked(repos, ada):
    old = issue(repos, ada)
    service_tokens.revoke_token(repos, "ci", ada, now=NOW)
    issue(repos, ada)
    with pytest.raises(TokenError, match="was revoked"):
        service_tokens.authenticate_token(repos, old.token, now=NOW)


def test_surrounding_whitespace_of_a_pasted_token_is_ignored(repos, ada):
    issued = issue(repos, ada)
    assert service_tokens.authenticate_token(repos, f"  {issued.token}\n", now=NOW).username == "token:ci"


def test_a_disabled_admin_cannot_issue(repos, ada):
    auth.create_user(repos, "bob", "correct-horse-1", ["admin"], system_user())
    auth.set_disabled(repos, "ada", True, system_user())
    with pytest.raises(PermissionDenied, match="disabled"):
        issue(repos, ada)


# -- boundaries ----------------------------------------------------------------------------------
def test_a_token_expires_exactly_at_its_expiry(repos, ada):
    issued = issue(repos, ada, expires_days=1)
    assert issued.info.expires_at is not None
    just_before = NOW + timedelta(days=1) - timedelta(milliseconds=1)
    assert service_tokens.authenticate_token(repos, issued.token, now=just_before).username == "token:ci"
    with pytest.raises(TokenError, match="service token 'ci' expired at"):
        service_tokens.authenticate_token(repos, issued.token, now=NOW + timedelta(days=1))


@pytest.mark.parametrize("days,ok", [(0, False), (1, True), (3650, True), (3651, False), (-1, False)])
def test_expiry_days_bounds(repos, ada, days, ok):
    if ok:
        assert issue(repos, ada, expires_days=days).info.state == "active"
    else:
        with pytest.raises(TokenError, match="expires-days"):
            issue(repos, ada, expires_days=days)


def test_names_of_one_and_sixty_four_characters_are_accepted(repos, ada):
    for name in ("c", "c" * 64):
        assert issue(repos, ada, name).info.name == name
