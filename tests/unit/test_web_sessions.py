"""Server-side web sessions (`mlops.services.web_sessions`) on the in-memory repository: begin ->
claim -> resolve -> end, single-use and expiring claim codes, hashed secrets at rest."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mlops.services import web_sessions as ws
from tests.fakes import MemorySessions

T0 = datetime(2026, 12, 1, 9, 0, 0)
TTL = 3600


@pytest.fixture
def repo() -> MemorySessions:
    return MemorySessions()


def signed_in(repo: MemorySessions, username: str = "rita", now: datetime = T0) -> str:
    code = ws.begin(repo, username, "local", now=now)
    claimed = ws.claim(repo, code, TTL, now=now + timedelta(seconds=1))
    assert claimed is not None
    return claimed[0]


# -- happy path -----------------------------------------------------------------------------------
def test_claim_then_resolve_gives_the_user_until_expiry(repo):
    code = ws.begin(repo, "rita", "local", now=T0)
    session_id, session = ws.claim(repo, code, TTL, now=T0)
    assert session.username == "rita" and session.method == "local"
    assert ws.resolve(repo, session_id, now=T0 + timedelta(seconds=TTL - 1)) == session
    assert session_id != code


def test_only_hashes_are_stored(repo):
    code = ws.begin(repo, "rita", now=T0)
    assert code not in repo.rows and ws.secret_hash(code) in repo.rows
    session_id, _ = ws.claim(repo, code, TTL, now=T0)
    assert list(repo.rows) == [ws.secret_hash(session_id)]
    assert all(session_id not in repr(row) and code not in repr(row) for row in repo.rows.values())


def test_end_invalidates_server_side(repo):
    session_id = signed_in(repo)
    assert ws.end(repo, session_id) is True
    assert ws.resolve(repo, session_id, now=T0) is None
    assert ws.end(repo, session_id) is False  # already gone


def test_end_all_signs_a_user_out_everywhere(repo):
    first, second, other = signed_in(repo), signed_in(repo), signed_in(repo, "adam")
    assert ws.end_all(repo, "rita") == 2
    assert ws.resolve(repo, first, now=T0) is None and ws.resolve(repo, second, now=T0) is None
    assert ws.resolve(repo, other, now=T0).username == "adam"


# -- negative path --------------------------------------------------------------------------------
def test_a_claim_code_works_once(repo):
    code = ws.begin(repo, "rita", now=T0)
    assert ws.claim(repo, code, TTL, now=T0) is not None
    assert ws.claim(repo, code, TTL, now=T0) is None


@pytest.mark.parametrize("value", [None, "", "not-a-code", "x" * (ws.MAX_SECRET_CHARS + 1)])
def test_unknown_or_malformed_secrets_resolve_to_nobody(repo, value):
    signed_in(repo)
    assert ws.claim(repo, value, TTL, now=T0) is None
    assert ws.resolve(repo, value, now=T0) is None
    assert ws.end(repo, value) is False


def test_a_session_id_is_not_a_claim_code_and_a_claim_code_is_not_a_session(repo):
    code = ws.begin(repo, "rita", now=T0)
    assert ws.resolve(repo, code, now=T0) is None  # pending: signs nobody in
    session_id, _ = ws.claim(repo, code, TTL, now=T0)
    assert ws.claim(repo, session_id, TTL, now=T0) is None  # active: cannot be claimed again


def test_begin_needs_a_username_and_claim_a_positive_lifetime(repo):
    with pytest.raises(ws.SessionError):
        ws.begin(repo, "", now=T0)
    code = ws.begin(repo, "rita", now=T0)
    with pytest.raises(ws.SessionError):
        ws.claim(repo, code, 0, now=T0)


# -- boundaries -----------------------------------------------------------------------------------
def test_claim_code_boundary(repo):
    code = ws.begin(repo, "rita", now=T0)
    late = ws.begin(repo, "rita", now=T0)
    assert ws.claim(repo, code, TTL, now=T0 + timedelta(seconds=ws.CLAIM_TTL_S - 0.001)) is not None
    assert ws.claim(repo, late, TTL, now=T0 + timedelta(seconds=ws.CLAIM_TTL_S)) is None


def test_session_lifetime_boundary(repo):
    code = ws.begin(repo, "rita", now=T0)
    session_id, _ = ws.claim(repo, code, TTL, now=T0)
    assert ws.resolve(repo, session_id, now=T0 + timedelta(seconds=TTL) - timedelta(milliseconds=1))
    assert ws.resolve(repo, session_id, now=T0 + timedelta(seconds=TTL)) is None


# -- edge cases -----------------------------------------------------------------------------------
def test_expired_sessions_are_purged_when_a_new_one_begins(repo):
    old = signed_in(repo, now=T0)
    ws.begin(repo, "adam", now=T0 + timedelta(seconds=TTL + 5))
    assert ws.secret_hash(old) not in repo.rows
    assert [row.username for row in repo.rows.values()] == ["adam"]


def test_every_secret_is_new(repo):
    ids = {signed_in(repo) for _ in range(20)}
    assert len(ids) == 20 and all(len(i) >= 43 for i in ids)
