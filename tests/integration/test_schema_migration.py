"""Schema versions: a new database gets the current schema in one step, a version 1 database is
upgraded to the current indexes (rows kept, retired indexes dropped), a version 2 database to
version 3 (history and agreement: rows kept and back-filled, on SQLite and PostgreSQL driven as
Redshift), and `init_schema()` stays idempotent."""

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


#: The columns and tables version 3 added (absent from a version 1 or 2 database).
V3_COLUMNS = {"prediction_requests": "lowest_confidence", "prediction_skills": "model_version"}
V3_TABLES = ("prediction_scores",)
#: The table version 4 added (service tokens).
V4_TABLES = ("service_tokens",)
#: The table version 5 added (the app's web sessions).
V5_TABLES = ("web_sessions",)


def old_tables() -> dict[str, list[str]]:
    """The tables as versions 1 and 2 had them."""
    return {
        name: [c for c in columns if not c.startswith(f"{V3_COLUMNS.get(name)} ")]
        for name, columns in schema.TABLES.items()
        if name not in V3_TABLES + V4_TABLES + V5_TABLES
    }


def create_old(wh, version: int) -> None:
    for name, columns in old_tables().items():
        wh.execute(f"CREATE TABLE {name} ({', '.join(columns)})")
    wh.execute(schema.CREATE_VERSION_TABLE)
    wh.execute(
        f"INSERT INTO {schema.VERSION_TABLE} (version, applied_at) VALUES (?, '2026-11-01T00:00:00')",
        (version,),
    )


def indexes(wh) -> set[str]:
    return {
        r["name"]
        for r in wh.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'")
    }


@pytest.fixture
def v1(tmp_path):
    """A database as version 1 left it, holding one request."""
    wh = open_warehouse(f"sqlite:///{tmp_path}/v1.db")
    create_old(wh, 1)
    for ix, table, cols in V1_INDEXES:
        wh.execute(f"CREATE INDEX {ix} ON {table} ({cols})")
    wh.execute(
        "INSERT INTO prediction_requests (request_id, day, model_version, stage, latency_ms) "
        "VALUES ('r1', '2026-11-02', '1.0.0', 'prod', 12.5)"
    )
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
    versions = v1.query("SELECT version FROM schema_version ORDER BY version")
    assert [r["version"] for r in versions] == [1, 2, 3, 4, 5]
    assert indexes(v1) == {ix for ix, _, _ in schema.INDEXES}
    assert indexes(v1) >= {
        "ix_prediction_requests_usage",
        "ix_feedback_decision",
        "ix_feedback_skill",
        "ix_feedback_submissions_review",
        "ix_prediction_scores_quality",
    }
    assert not indexes(v1) & set(schema.RETIRED_INDEXES)
    assert v1.scalar("SELECT latency_ms FROM prediction_requests WHERE request_id = 'r1'") == 12.5


def test_upgrading_twice_changes_nothing(v1):
    assert schema.apply(v1, with_indexes=True) == schema.LATEST_VERSION
    assert schema.apply(v1, with_indexes=True) == schema.LATEST_VERSION
    assert v1.scalar("SELECT COUNT(*) FROM schema_version") == 5
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


# -- version 2 -> 3: history and agreement -----------------------------------------------------------
@pytest.fixture
def v2(warehouse_url):
    """A version 2 database (SQLite, then PostgreSQL as Redshift) holding two predictions, one
    reviewed, one failed request, and no index (Redshift's shape)."""
    wh = open_warehouse(warehouse_url)
    create_old(wh, 2)
    wh.executemany(
        "INSERT INTO prediction_requests (request_id, model_version, stage, created_at, day, week, "
        "status) VALUES (?, ?, 'prod', ?, '2026-11-02', '2026-W45', ?)",
        [
            ("r1", "1.0.0", "2026-11-02T09:00:00.000Z", "ok"),
            ("r2", "1.1.0", "2026-11-02T10:00:00.000Z", "ok"),
            ("bad", "1.1.0", "2026-11-02T11:00:00.000Z", "error"),
        ],
    )
    wh.executemany(
        "INSERT INTO prediction_skills (request_id, rank, skill_id, confidence) VALUES (?, ?, ?, ?)",
        [("r1", 1, "s0", 0.8), ("r1", 2, "s1", 0.55), ("r2", 1, "s2", 0.7)],
    )
    wh.execute(
        "INSERT INTO feedback_submissions (request_id, reviewer, model_version, submitted_at, "
        "day, week, n_predicted, n_confirmed, n_overlap) VALUES ('r1', 'rita', '1.0.0', "
        "'2026-11-02T12:00:00.000Z', '2026-11-02', '2026-W45', 2, 3, 1)"
    )
    wh.execute(
        "INSERT INTO feedback (request_id, skill_id, decision, reviewer, reviewed_at, day, "
        "week) VALUES ('r1', 's0', 'accepted', 'rita', '2026-11-02T12:00:00.000Z', "
        "'2026-11-02', '2026-W45')"
    )
    yield wh
    wh.close()


def test_version_2_is_upgraded_keeping_and_back_filling_every_row(v2):
    assert schema.apply(v2, with_indexes=False) == 5 == schema.LATEST_VERSION
    skills = v2.query("SELECT request_id, model_version, skill_id FROM prediction_skills ORDER BY skill_id")
    assert [(r["request_id"], r["model_version"], r["skill_id"]) for r in skills] == [
        ("r1", "1.0.0", "s0"),
        ("r1", "1.0.0", "s1"),
        ("r2", "1.1.0", "s2"),
    ]
    lowest = v2.query("SELECT request_id, lowest_confidence FROM prediction_requests ORDER BY request_id")
    assert [(r["request_id"], r["lowest_confidence"]) for r in lowest] == [
        ("bad", None),
        ("r1", 0.55),
        ("r2", 0.7),
    ]
    [score] = v2.query("SELECT * FROM prediction_scores")
    assert (
        score["request_id"],
        score["model_version"],
        score["reviewer"],
        score["scored_at"],
        score["n_predicted"],
        score["n_confirmed"],
        score["n_overlap"],
    ) == ("r1", "1.0.0", "rita", "2026-11-02T12:00:00.000Z", 2, 3, 1)
    assert v2.scalar("SELECT COUNT(*) FROM feedback") == 1
    assert v2.scalar("SELECT COUNT(*) FROM feedback_submissions") == 1
    assert schema.apply(v2, with_indexes=False) == 5  # current: nothing more to do
    assert v2.scalar("SELECT COUNT(*) FROM prediction_scores") == 1
    assert v2.scalar("SELECT COUNT(*) FROM web_sessions") == 0  # version 5's table is there


# -- version 3 -> 5: service tokens, web sessions ---------------------------------------------
def test_version_3_gains_the_service_tokens_and_web_sessions_tables_keeping_rows(warehouse_url):
    wh = open_warehouse(warehouse_url)
    for name, columns in schema.TABLES.items():
        if name not in V4_TABLES + V5_TABLES:
            wh.execute(f"CREATE TABLE {name} ({', '.join(columns)})")
    wh.execute(schema.CREATE_VERSION_TABLE)
    wh.execute(f"INSERT INTO {schema.VERSION_TABLE} (version, applied_at) VALUES (3, '2026-11-20T00:00:00')")
    wh.execute("INSERT INTO users (username, roles) VALUES ('ada', '[\"admin\"]')")
    try:
        assert schema.apply(wh, with_indexes=False) == 5
        assert wh.scalar("SELECT COUNT(*) FROM service_tokens") == 0
        assert wh.scalar("SELECT COUNT(*) FROM web_sessions") == 0
        assert wh.scalar("SELECT username FROM users") == "ada"
        assert [r["version"] for r in wh.query("SELECT version FROM schema_version ORDER BY version")] == [
            3,
            4,
            5,
        ]
    finally:
        wh.close()
