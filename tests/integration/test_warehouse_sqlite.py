"""Warehouse pieces that need no server: URL parsing, INSERT splitting, batching, SQLite specifics."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from mlops.adapters.warehouse import WarehouseError, open_warehouse
from mlops.adapters.warehouse.pooled import chunks, split_insert
from mlops.adapters.warehouse.redshift import RedshiftWarehouse, _power_of_two_parts, parse_url
from mlops.adapters.warehouse.sqlite import SQLiteWarehouse, sqlite_path


# -- URLs ------------------------------------------------------------------------------------------
def test_parse_redshift_url_decodes_credentials():
    t = parse_url("redshift://us%40er:p%3Aw%40rd@cluster.example:5439/sea_db")
    assert (t.user, t.password, t.host, t.port, t.database) == (
        "us@er",
        "p:w@rd",
        "cluster.example",
        5439,
        "sea_db",
    )
    assert t.ssl is True and t.timeout is None and t.connect_timeout == 10.0


def test_parse_url_defaults_by_scheme():
    assert parse_url("redshift://u:p@h/db").port == 5439
    pg = parse_url("postgresql://u:p@h/db")
    assert (pg.port, pg.ssl) == (5432, False)


def test_parse_url_options():
    t = parse_url("redshift://u:p@h:1/db?ssl=false&connect_timeout=2.5&timeout=60&sslmode=verify-full")
    assert (t.ssl, t.connect_timeout, t.timeout, t.sslmode) == (False, 2.5, 60.0, "verify-full")


@pytest.mark.parametrize(
    "url,message",
    [
        ("redshift://h:5439/db", "user and a password"),
        ("redshift://u@h:5439/db", "user and a password"),
        ("redshift://u:p@h:5439/", "host and a database"),
        ("redshift://u:p@:5439/db", "host and a database"),
        ("redshift://u:p@h:notaport/db", "bad port"),
        ("redshift://u:p@h/db?ssl=maybe", "ssl must be true or false"),
        ("redshift://u:p@h/db?bogus=1", "unknown warehouse URL parameter"),
        ("redshift://u:p@h/db?timeout=soon", "not a number"),
        ("mysql://u:p@h/db", "not a Redshift"),
    ],
)
def test_parse_url_errors(url, message):
    with pytest.raises(WarehouseError, match=message):
        parse_url(url)


def test_describe_never_shows_the_password():
    warehouse = RedshiftWarehouse.from_url("redshift://ann:topsecret@h:5439/db")
    assert "topsecret" not in warehouse.describe()
    assert warehouse.describe() == "Redshift warehouse ann@h:5439/db"


def test_sqlite_paths():
    assert sqlite_path("sqlite:///rel/x.db") == Path("rel/x.db")
    assert sqlite_path("sqlite:////abs/x.db") == Path("/abs/x.db")
    with pytest.raises(WarehouseError):
        sqlite_path("sqlite:///")
    with pytest.raises(WarehouseError):
        sqlite_path("sqlite://x.db")


@pytest.mark.parametrize(
    "url,kind",
    [
        ("sqlite:///x.db", SQLiteWarehouse),
        ("redshift://u:p@h/db", RedshiftWarehouse),
        ("postgresql://u:p@h/db", RedshiftWarehouse),
    ],
)
def test_open_warehouse_picks_by_scheme_without_connecting(url, kind):
    assert isinstance(open_warehouse(url), kind)


@pytest.mark.parametrize("url", ["", "x.db", "file:///x.db", "mysql://u:p@h/db"])
def test_open_warehouse_unknown_scheme(url):
    with pytest.raises(WarehouseError, match="unknown warehouse URL scheme"):
        open_warehouse(url)


# -- batching helpers ------------------------------------------------------------------------------
def test_split_insert():
    head, row = split_insert("INSERT INTO t (a, b)\n VALUES (?, ?);")
    assert head == "INSERT INTO t (a, b)\n VALUES" and row == "(?, ?)"
    assert split_insert("insert into t values (?, lower(?))") == ("insert into t values", "(?, lower(?))")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ?",
        "UPDATE t SET a = ?",
        "INSERT INTO t (a) VALUES ('x')",
        "INSERT INTO t (a) SELECT a FROM u",
        "",
    ],
)
def test_split_insert_rejects_other_statements(sql):
    with pytest.raises(WarehouseError, match="executemany takes one"):
        split_insert(sql)


def test_chunks_consume_lazily_and_cover_everything():
    produced = []

    def rows():
        for i in range(7):
            produced.append(i)
            yield (i,)

    iterator = chunks(rows(), 3)
    assert next(iterator) == [(0,), (1,), (2,)]
    assert produced == [0, 1, 2]
    assert list(iterator) == [[(3,), (4,), (5,)], [(6,)]]
    assert list(chunks([], 3)) == []


@pytest.mark.parametrize("count", [0, 1, 2, 3, 7, 8, 1000, 3275])
def test_power_of_two_parts(count):
    parts = list(_power_of_two_parts(count))
    assert sum(parts) == count
    assert all(p & (p - 1) == 0 for p in parts)
    assert parts == sorted(parts, reverse=True) and len(parts) == len(set(parts))


# -- SQLite specifics ------------------------------------------------------------------------------
def test_sqlite_uses_wal_and_creates_parent_folders(tmp_path):
    warehouse = open_warehouse(f"sqlite:///{tmp_path}/a/b/sea.db")
    assert warehouse.scalar("PRAGMA journal_mode") == "wal"
    assert warehouse.scalar("PRAGMA busy_timeout") >= 1000
    assert (tmp_path / "a" / "b" / "sea.db").exists()
    warehouse.close()


def test_sqlite_data_survives_reopening(tmp_path):
    url = f"sqlite:///{tmp_path}/sea.db"
    first = open_warehouse(url)
    first.init_schema()
    first.execute("INSERT INTO jobs (job_id, kind, status) VALUES (?, ?, ?)", ("j1", "build", "queued"))
    first.close()
    second = open_warehouse(url)
    second.init_schema()
    assert second.query("SELECT job_id, status FROM jobs") == [{"job_id": "j1", "status": "queued"}]
    second.close()


def _init_and_insert(url: str, n: int) -> None:
    warehouse = open_warehouse(url)
    warehouse.init_schema()
    with warehouse.transaction() as tx:
        tx.execute("INSERT INTO audit_log (event_id, actor, action) VALUES (?, ?, ?)", (f"e{n}", "p", "x"))
    warehouse.close()


def test_sqlite_schema_and_writes_from_several_processes(tmp_path):
    url = f"sqlite:///{tmp_path}/sea.db"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_init_and_insert, args=(url, n)) for n in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    warehouse = open_warehouse(url)
    assert warehouse.scalar("SELECT COUNT(*) FROM schema_version") == 1
    assert warehouse.scalar("SELECT COUNT(*) FROM audit_log") == 4
    warehouse.close()


def test_sqlite_lock_timeout_explains_itself(tmp_path, monkeypatch):
    import mlops.adapters.warehouse.sqlite as sqlite_module

    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_S", 0.2)
    warehouse = open_warehouse(f"sqlite:///{tmp_path}/sea.db")
    warehouse.init_schema()
    with warehouse.transaction() as tx:
        tx.execute("INSERT INTO jobs (job_id) VALUES (?)", ("j1",))
        with pytest.raises(WarehouseError, match="write through `tx`"):
            warehouse.execute("INSERT INTO jobs (job_id) VALUES (?)", ("j2",))
    assert warehouse.query("SELECT job_id FROM jobs") == [{"job_id": "j1"}]
    warehouse.close()
