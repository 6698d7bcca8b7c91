"""One contract for every warehouse: SQLite (a file) and Redshift over the wire (PostgreSQL behind
pgbouncer, driven by redshift_connector exactly as in production)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from urllib.parse import quote

import pytest

from mlops.adapters.warehouse import WarehouseError, open_warehouse, schema
from mlops.adapters.warehouse.pooled import PooledSession

TABLES = sorted(schema.TABLES)


def insert_feedback(session, request_id: str, skill_id: str = "s1", reviewer: str | None = "ann") -> int:
    return session.execute(
        "INSERT INTO feedback (request_id, skill_id, decision, reviewer) VALUES (?, ?, ?, ?)",
        (request_id, skill_id, "accepted", reviewer),
    )


def count(warehouse, table: str) -> int:
    return warehouse.scalar(f"SELECT COUNT(*) FROM {table}")


# -- schema ----------------------------------------------------------------------------------------
def test_init_schema_creates_every_table_empty(warehouse):
    for table in TABLES:
        assert count(warehouse, table) == 0, table
    assert warehouse.scalar("SELECT MAX(version) FROM schema_version") == schema.LATEST_VERSION


def test_init_schema_twice_records_one_version(warehouse):
    warehouse.init_schema()
    warehouse.init_schema()
    assert count(warehouse, "schema_version") == 1


def test_init_schema_keeps_existing_rows(warehouse):
    insert_feedback(warehouse, "r1")
    warehouse.init_schema()
    assert count(warehouse, "feedback") == 1


def test_init_schema_concurrently_from_separate_connections(warehouse_url):
    warehouses = [open_warehouse(warehouse_url) for _ in range(4)]
    barrier = threading.Barrier(len(warehouses))
    errors: list[BaseException] = []

    def run(warehouse):
        try:
            barrier.wait(10)
            warehouse.init_schema()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in warehouses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == []
        assert count(warehouses[0], "schema_version") == 1
        for table in TABLES:
            assert count(warehouses[0], table) == 0
    finally:
        for warehouse in warehouses:
            warehouse.close()


def test_indexes_exist_where_the_server_supports_them(warehouse):
    if warehouse.dialect == "sqlite":
        names = {r["name"] for r in warehouse.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    else:
        assert warehouse.is_redshift() is False  # the stand-in is PostgreSQL
        names = {r["indexname"] for r in warehouse.query("SELECT indexname FROM pg_indexes")}
    assert {ix for ix, _, _ in schema.INDEXES} <= names


@pytest.mark.postgres
def test_redshift_server_gets_no_create_index(fresh_redshift_url, monkeypatch):
    warehouse = open_warehouse(fresh_redshift_url)
    warehouse._server_version = "PostgreSQL 8.0.2 on i686-pc-linux-gnu, Redshift 1.0.77777"
    assert warehouse.is_redshift()
    sent: list[str] = []
    real_execute = PooledSession.execute

    def spy(self, sql, params=()):
        sent.append(sql)
        return real_execute(self, sql, params)

    monkeypatch.setattr(PooledSession, "execute", spy)
    warehouse.init_schema()
    assert any(s.startswith("CREATE TABLE") for s in sent)
    assert not any("CREATE INDEX" in s for s in sent)
    assert warehouse.query("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_%'") == []
    warehouse.close()


# -- statements ------------------------------------------------------------------------------------
def test_execute_query_query_one_scalar(warehouse):
    assert insert_feedback(warehouse, "r1", "s1") == 1
    assert insert_feedback(warehouse, "r1", "s2") == 1
    assert warehouse.execute("UPDATE feedback SET decision = ? WHERE request_id = ?", ("rejected", "r1")) == 2
    rows = warehouse.query("SELECT request_id, skill_id, decision FROM feedback ORDER BY skill_id")
    assert rows == [
        {"request_id": "r1", "skill_id": "s1", "decision": "rejected"},
        {"request_id": "r1", "skill_id": "s2", "decision": "rejected"},
    ]
    assert warehouse.query_one("SELECT skill_id FROM feedback WHERE skill_id = ?", ("s2",)) == {
        "skill_id": "s2"
    }
    assert warehouse.query_one("SELECT skill_id FROM feedback WHERE skill_id = ?", ("nope",)) is None
    assert warehouse.scalar("SELECT COUNT(*) FROM feedback WHERE request_id = ?", ("r1",)) == 2
    assert warehouse.scalar("SELECT skill_id FROM feedback WHERE skill_id = ?", ("nope",)) is None
    assert warehouse.execute("DELETE FROM feedback WHERE request_id = ?", ("r1",)) == 2


def test_column_names_come_back_lower_case(warehouse):
    assert warehouse.query("SELECT 1 AS Mixed_Case") == [{"mixed_case": 1}]


def test_numbers_keep_their_kind(warehouse):
    warehouse.execute(
        "INSERT INTO training_pairs (pair_id, anchor, candidate, label) VALUES (?, ?, ?, ?)",
        ("p1", "a", "b", 1.0),
    )
    warehouse.execute(
        "INSERT INTO training_pairs (pair_id, anchor, candidate, label) VALUES (?, ?, ?, ?)",
        ("p2", "a", "c", 0.0),
    )
    row = warehouse.query_one("SELECT SUM(label) AS s, AVG(label) AS a, COUNT(*) AS n FROM training_pairs")
    assert row == {"s": 1.0, "a": 0.5, "n": 2}
    assert isinstance(row["s"], float) and isinstance(row["n"], int)


def test_booleans_are_stored_as_integers(warehouse):
    warehouse.execute(
        "INSERT INTO users (username, roles, disabled) VALUES (?, ?, ?)", ("ann", "admin", True)
    )
    assert warehouse.scalar("SELECT disabled FROM users WHERE username = ?", ("ann",)) == 1
    assert warehouse.scalar("SELECT failed_logins FROM users WHERE username = ?", ("ann",)) == 0  # DEFAULT


@pytest.mark.parametrize(
    "value",
    [
        "O'Brien",
        'say "hi"',
        "'; DROP TABLE feedback; --",
        "日本語 émoji 🎉",
        "?",
        "%s",
        "%",
        "$1",
        "back\\slash",
        "",
        "line\nbreak\ttab",
    ],
)
def test_parameters_round_trip_unchanged(warehouse, value):
    insert_feedback(warehouse, value, reviewer=value)
    assert warehouse.query_one(
        "SELECT request_id, reviewer FROM feedback WHERE request_id = ?", (value,)
    ) == {
        "request_id": value,
        "reviewer": value,
    }
    assert count(warehouse, "feedback") == 1


def test_none_is_null(warehouse):
    insert_feedback(warehouse, "r1", reviewer=None)
    assert warehouse.scalar("SELECT COUNT(*) FROM feedback WHERE reviewer IS NULL") == 1
    assert warehouse.query_one("SELECT reviewer FROM feedback") == {"reviewer": None}


def test_question_mark_inside_a_literal_is_not_a_placeholder(warehouse):
    assert warehouse.query_one("SELECT '?' AS literal, ? AS param", ("x",)) == {"literal": "?", "param": "x"}


def test_long_text_round_trips(warehouse):
    text = "skill " * 10000  # 60,000 characters
    warehouse.execute(
        "INSERT INTO prediction_requests (request_id, original_input, input_chars) VALUES (?, ?, ?)",
        ("r1", text, len(text)),
    )
    assert warehouse.scalar("SELECT original_input FROM prediction_requests") == text


# -- transactions ----------------------------------------------------------------------------------
def test_transaction_commits_all(warehouse):
    with warehouse.transaction() as tx:
        insert_feedback(tx, "r1")
        insert_feedback(tx, "r2")
        assert tx.scalar("SELECT COUNT(*) FROM feedback") == 2  # visible inside
    assert count(warehouse, "feedback") == 2


def test_transaction_rollback_leaves_nothing(warehouse):
    insert_feedback(warehouse, "before")
    with pytest.raises(ValueError, match="boom"):
        with warehouse.transaction() as tx:
            insert_feedback(tx, "r1")
            tx.executemany(
                "INSERT INTO feedback (request_id, skill_id, decision) VALUES (?, ?, ?)",
                [(f"m{i}", "s", "added") for i in range(50)],
            )
            tx.execute("DELETE FROM feedback WHERE request_id = ?", ("before",))
            raise ValueError("boom")
    assert warehouse.query("SELECT request_id FROM feedback") == [{"request_id": "before"}]


def test_failed_statement_rolls_back_the_transaction(warehouse):
    with pytest.raises(WarehouseError, match="no_such_table"):
        with warehouse.transaction() as tx:
            insert_feedback(tx, "r1")
            tx.execute("INSERT INTO no_such_table (x) VALUES (?)", (1,))
    assert count(warehouse, "feedback") == 0
    insert_feedback(warehouse, "after")  # the connection is usable again
    assert count(warehouse, "feedback") == 1


def test_uncommitted_rows_are_invisible_to_other_connections(warehouse):
    with warehouse.transaction() as tx:
        insert_feedback(tx, "r1")
        seen = []
        thread = threading.Thread(target=lambda: seen.append(count(warehouse, "feedback")))
        thread.start()
        thread.join(30)
        assert seen == [0]
    assert count(warehouse, "feedback") == 1


def test_many_threads_share_one_warehouse(warehouse):
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                with warehouse.transaction() as tx:
                    insert_feedback(tx, f"t{n}-{i}")
                assert (
                    warehouse.scalar("SELECT COUNT(*) FROM feedback WHERE request_id = ?", (f"t{n}-{i}",))
                    == 1
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert count(warehouse, "feedback") == 120


# -- batched writes --------------------------------------------------------------------------------
def test_executemany_100k_rows_in_batches(warehouse, monkeypatch):
    statements = []
    if warehouse.dialect == "redshift":
        import redshift_connector

        real = redshift_connector.Cursor.execute

        def counting(self, operation, args=None, *rest, **kw):
            statements.append(operation)
            return real(self, operation, args, *rest, **kw)

        monkeypatch.setattr(redshift_connector.Cursor, "execute", counting)
    rows = (
        (f"r{i}", i % 10, f"s{i}", "Title ' é", "skill", i / 100000, None, 1, "[]", None)
        for i in range(100_000)
    )
    inserted = warehouse.executemany(
        "INSERT INTO prediction_skills (request_id, rank, skill_id, skill_title, skill_type, "
        "confidence, phrase, occurrence, tags, proficiency_level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    if warehouse.dialect == "redshift":
        monkeypatch.undo()
        inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
        # 10 parameters a row: at most 3,276 rows a statement -> 31 INSERTs, plus BEGIN/COMMIT
        assert 20 <= len(inserts) <= 40
        assert len(statements) <= len(inserts) + 2
    assert inserted == 100_000
    assert count(warehouse, "prediction_skills") == 100_000
    row = warehouse.query_one("SELECT * FROM prediction_skills WHERE request_id = ?", ("r99999",))
    assert row["rank"] == 9 and row["skill_title"] == "Title ' é" and row["phrase"] is None
    assert abs(row["confidence"] - 0.99999) < 1e-12


@pytest.mark.parametrize(
    "n_rows,batch_size", [(0, 5000), (1, 5000), (7, 1), (5000, 5000), (5001, 5000), (33, 8)]
)
def test_executemany_batch_boundaries(warehouse, n_rows, batch_size):
    rows = [(f"r{i}", f"s{i}", "added") for i in range(n_rows)]
    inserted = warehouse.executemany(
        "INSERT INTO feedback (request_id, skill_id, decision) VALUES (?, ?, ?)", iter(rows), batch_size
    )
    assert inserted == n_rows
    assert count(warehouse, "feedback") == n_rows
    assert warehouse.scalar("SELECT COUNT(DISTINCT request_id) FROM feedback") == n_rows


def test_executemany_is_all_or_nothing(warehouse):
    rows = [(f"r{i}", "s", "added") for i in range(10)] + [("bad",)]
    with pytest.raises(WarehouseError):
        warehouse.executemany(
            "INSERT INTO feedback (request_id, skill_id, decision) VALUES (?, ?, ?)", rows, 4
        )
    assert count(warehouse, "feedback") == 0


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE feedback SET decision = ?",
        "INSERT INTO feedback (request_id) SELECT request_id FROM feedback",
        "INSERT INTO feedback (request_id, skill_id) VALUES ('a', 'b')",
    ],
)
def test_executemany_takes_only_insert_values(warehouse, sql):
    with pytest.raises(WarehouseError, match="executemany takes one"):
        warehouse.executemany(sql, [("x",)])


def test_executemany_rejects_batch_size_zero(warehouse):
    with pytest.raises(WarehouseError, match="batch_size"):
        warehouse.executemany("INSERT INTO feedback (request_id, skill_id) VALUES (?, ?)", [("a", "b")], 0)


# -- errors ----------------------------------------------------------------------------------------
def test_bad_sql_is_a_warehouse_error_quoting_the_statement(warehouse):
    with pytest.raises(WarehouseError, match="SELECT nope FROM nowhere"):
        warehouse.query("SELECT nope FROM nowhere")


def test_closed_warehouse_refuses_calls(warehouse_url):
    warehouse = open_warehouse(warehouse_url)
    assert warehouse.ping()
    warehouse.close()
    with pytest.raises(WarehouseError, match="closed"):
        warehouse.scalar("SELECT 1")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_redshift_is_a_clear_error():
    password = "s3cr3t-pw"
    warehouse = open_warehouse(f"redshift://sea:{quote(password)}@127.0.0.1:{_closed_port()}/sea?ssl=false")
    with pytest.raises(
        WarehouseError, match=r"cannot reach Redshift warehouse sea@127\.0\.0\.1:\d+/sea"
    ) as info:
        warehouse.scalar("SELECT 1")
    assert password not in str(info.value)
    assert warehouse.ping() is False
    with pytest.raises(WarehouseError, match="cannot reach"):
        warehouse.init_schema()


def test_unopenable_sqlite_is_a_clear_error(tmp_path: Path):
    (tmp_path / "a-file").write_text("not a folder")
    warehouse = open_warehouse(f"sqlite:///{tmp_path}/a-file/sea.db")
    with pytest.raises(WarehouseError, match="cannot open SQLite warehouse"):
        warehouse.scalar("SELECT 1")
    assert warehouse.ping() is False


def test_unknown_scheme():
    with pytest.raises(WarehouseError, match="unknown warehouse URL scheme 'mysql'"):
        open_warehouse("mysql://u:p@h/db")


# -- outages (server only) -------------------------------------------------------------------------
@pytest.mark.postgres
def test_reconnects_after_server_restart(postgres_server, fresh_redshift_url):
    warehouse = open_warehouse(fresh_redshift_url)
    warehouse.init_schema()
    insert_feedback(warehouse, "before")
    postgres_server.stop()
    postgres_server.start()
    # the pooled connection died with the server: reads retry on a fresh one
    assert count(warehouse, "feedback") == 1
    insert_feedback(warehouse, "after")
    with warehouse.transaction() as tx:
        insert_feedback(tx, "in-tx")
    assert count(warehouse, "feedback") == 3
    warehouse.close()


@pytest.mark.postgres
def test_transaction_after_restart_starts_on_a_fresh_connection(postgres_server, fresh_redshift_url):
    warehouse = open_warehouse(fresh_redshift_url)
    warehouse.init_schema()
    postgres_server.stop()
    postgres_server.start()
    with warehouse.transaction() as tx:
        insert_feedback(tx, "r1")
    assert count(warehouse, "feedback") == 1
    warehouse.close()


@pytest.mark.postgres
def test_outage_is_a_warehouse_error_then_recovers(postgres_server, fresh_redshift_url):
    warehouse = open_warehouse(fresh_redshift_url)
    warehouse.init_schema()
    postgres_server.stop()
    with pytest.raises(WarehouseError):
        warehouse.scalar("SELECT COUNT(*) FROM feedback")
    with pytest.raises(WarehouseError):
        insert_feedback(warehouse, "during")
    assert warehouse.ping() is False
    postgres_server.start()
    assert warehouse.ping() is True
    insert_feedback(warehouse, "after")
    assert count(warehouse, "feedback") == 1
    warehouse.close()
