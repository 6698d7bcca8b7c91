"""The `web_sessions` table (`SqlSessionRepository`) through the session service, on SQLite and
on PostgreSQL driven as Redshift: the same contract as the in-memory fake of the unit tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from mlops.adapters.warehouse.sessions import SqlSessionRepository
from mlops.services import web_sessions as ws

T0 = datetime(2026, 12, 1, 9, 0, 0)


def test_sessions_round_trip_hashed_single_use_and_expiring(warehouse):
    repo = SqlSessionRepository(warehouse)
    code = ws.begin(repo, "rita", "local", now=T0)
    session_id, session = ws.claim(repo, code, 600, now=T0)
    assert ws.claim(repo, code, 600, now=T0) is None  # single use
    assert ws.resolve(repo, session_id, now=T0 + timedelta(seconds=599)) == session
    assert ws.resolve(repo, session_id, now=T0 + timedelta(seconds=600)) is None
    stored = warehouse.query("SELECT secret_hash, username, state FROM web_sessions")
    assert stored == [{"secret_hash": ws.secret_hash(session_id), "username": "rita", "state": "active"}]
    expired = ws.begin(repo, "adam", now=T0)
    assert ws.claim(repo, expired, 600, now=T0 + timedelta(seconds=ws.CLAIM_TTL_S)) is None
    assert ws.end(repo, session_id) and ws.resolve(repo, session_id, now=T0) is None


def test_end_all_and_purge(warehouse):
    repo = SqlSessionRepository(warehouse)
    ids = [ws.claim(repo, ws.begin(repo, name, now=T0), 60, now=T0)[0] for name in ("rita", "rita", "adam")]
    assert ws.end_all(repo, "rita") == 2
    ws.begin(repo, "stan", now=T0 + timedelta(seconds=120))  # purges adam's expired session
    assert ws.resolve(repo, ids[2], now=T0) is None
    assert [r["username"] for r in warehouse.query("SELECT username FROM web_sessions")] == ["stan"]
