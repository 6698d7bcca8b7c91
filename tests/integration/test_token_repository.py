"""The service-token repository on SQLite and PostgreSQL (as Redshift), against the in-memory fake
of tests/fakes.py: the same rows, orderings, revocation and last-use stamps."""

from __future__ import annotations

import pytest

from mlops.adapters.warehouse import open_warehouse
from mlops.adapters.warehouse.repositories import repositories
from mlops.adapters.warehouse.tokens import StoredToken
from tests.fakes import MemoryRepositories

TOKENS = (
    StoredToken("t2", "cron", "h2", frozenset({"reviewer"}), "2026-11-02T09:00:00.000Z", "ada"),
    StoredToken("t1", "ci", "h1", frozenset({"admin", "stakeholder"}), "2026-11-01T09:00:00.000Z", "ada"),
    StoredToken(
        "t3", "ci", "h3", frozenset({"admin"}), "2026-11-03T09:00:00.000Z", "bob", "2026-12-03T09:00:00.000Z"
    ),
)


@pytest.fixture(params=["memory", "sqlite", pytest.param("redshift", marks=pytest.mark.postgres)])
def repos(request, tmp_path):
    if request.param == "memory":
        yield MemoryRepositories()
        return
    url = (
        f"sqlite:///{tmp_path}/w.db"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_redshift_url")
    )
    warehouse = open_warehouse(url)
    warehouse.init_schema()
    yield repositories(warehouse)
    warehouse.close()


def test_tokens_round_trip_in_order_and_revoke_and_touch(repos):
    with repos.transaction("service_tokens") as tx:
        for token in TOKENS:
            tx.tokens.add(token)
    assert repos.tokens.get("t3") == TOKENS[2]
    assert repos.tokens.get("nope") is None
    assert [t.token_id for t in repos.tokens.all()] == ["t1", "t3", "t2"]
    assert [t.token_id for t in repos.tokens.named("ci")] == ["t1", "t3"]
    assert repos.tokens.named("other") == []
    repos.tokens.revoke("t1", "2026-11-04T00:00:00.000Z", "bob")
    repos.tokens.touch("t3", "2026-11-05T00:00:00.000Z")
    revoked, used = repos.tokens.get("t1"), repos.tokens.get("t3")
    assert (revoked.revoked_at, revoked.revoked_by, revoked.is_active()) == (
        "2026-11-04T00:00:00.000Z",
        "bob",
        False,
    )
    assert used.last_used_at == "2026-11-05T00:00:00.000Z" and used.revoked_at is None


def test_a_failed_transaction_stores_no_token(repos):
    with pytest.raises(RuntimeError), repos.transaction("service_tokens") as tx:
        tx.tokens.add(TOKENS[0])
        raise RuntimeError("boom")
    assert repos.tokens.all() == []
