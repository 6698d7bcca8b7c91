"""Schema versions on SQLite: a new database gets the current schema in one step, a version 1
database is upgraded to the dashboard indexes (rows kept, retired indexes dropped), and
`init_schema()` stays idempotent."""
from __future__ import annotations

import pytest

from mlops.adapters.warehouse import open_warehouse, schema

V1_INDEXES = (  # the version 1 index set, as databases created before version 2 hold it
    ("ix_prediction_requests_id", "prediction_requests", "request_id"),
    ("ix_prediction_requests_day", "prediction_requests", "day, model_version"),
    ("ix_feedback_request", "feedback", "request_id"),
    ("ix_feedback_day", "feedback", "day"),
    ("ix_feedback_submissions_request", "feedback_submissions", "request_id"),
)


def indexes(wh) -> set[str]:
    return {r["name"] for r in wh.query("SELECT name FROM sqlite_master WHERE type = 'index' "
                                        "AND name LIKE 'ix_%'")}


@pytest.fixture
def v1(tmp_path):
    """A database as version 1 left it, holding one request."""
    wh = open_warehouse(f"sqlite:///{tmp_path}/v1.db")
    for name, columns in schema.TABLES.items():
        wh.execute(f"CREATE TABLE {name} ({', '.join(columns)})")
    for ix, table, cols in V1_INDEXES:
        wh.execute(f"CREATE INDEX {ix} ON {table} ({cols})")
    wh.execute(schema.CREATE_VERSION_TABLE)
    wh.execute(f"INSERT INTO {schema.VERSION_TABLE} (version, applied_at) VALUES (1, '2026-11-01T00:00:00')")
    wh.execute("INSERT INTO prediction_requests (request_id, day, model_version, stage, latency_ms) "
               "VALUES ('r1', '2026-11-02', '1.0.0', 'prod', 12.5)")
    yield wh
    wh.close()


def test_a_new_database_gets_the_latest_version_in_one_step(tmp_path):
    wh = open_warehouse(f"sqlite:///{tmp_path}/new.db")
    wh.init_schema()
    assert schema.LATEST_VERSION >= 2
    assert [r["version"] for r in wh.query("SELECT version FROM schema_version")] == [schema.LATEST_VERSION]
    assert indexes(wh) == {ix for ix, _, _ in schema.INDEXES}
    assert not indexes(wh) & set(schema.RETIRED_INDEXES)
    wh.close()


def test_version_1_is_upgraded_keeping_rows_and_swapping_indexes(v1):
    v1.init_schema()
    assert [r["version"] for r in v1.query("SELECT version FROM schema_version ORDER BY version")] == [1, 2]
    assert indexes(v1) >= {"ix_prediction_requests_usage", "ix_feedback_decision", "ix_feedback_skill",
                           "ix_feedback_submissions_version"}
    assert not indexes(v1) & set(schema.RETIRED_INDEXES)
    assert v1.scalar("SELECT latency_ms FROM prediction_requests WHERE request_id = 'r1'") == 12.5


def test_upgrading_twice_changes_nothing(v1):
    assert schema.apply(v1, with_indexes=True) == schema.LATEST_VERSION
    assert schema.apply(v1, with_indexes=True) == schema.LATEST_VERSION
    assert v1.scalar("SELECT COUNT(*) FROM schema_version") == 2
    assert schema.current_version(v1) == schema.LATEST_VERSION


def test_without_indexes_the_upgrade_only_records_the_version(v1):
    """Redshift's path: no CREATE/DROP INDEX at all, the version is still recorded."""
    before = indexes(v1)
    assert schema.apply(v1, with_indexes=False) == schema.LATEST_VERSION
    assert indexes(v1) == before
    assert all("INDEX" not in s for _, statements in schema.migrations(False) for s in statements)
    assert all("INDEX" not in s for s in schema.create_statements(False))


def test_migrations_are_ordered_and_after_version_1():
    versions = [v for v, _ in schema.migrations(True)]
    assert versions == sorted(set(versions)) and versions[0] > 1 and versions[-1] == schema.LATEST_VERSION
    retired_in_current = set(schema.RETIRED_INDEXES) & {ix for ix, _, _ in schema.INDEXES}
    assert retired_in_current == set()
