"""`python -m mlops init`: schema and store layout from the settings, idempotent, clear errors."""

from __future__ import annotations

import json

import pytest

from mlops.adapters.warehouse import open_warehouse
from mlops.adapters.warehouse.schema import LATEST_VERSION, TABLES
from mlops.entrypoints.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    for name in ("SEA_WAREHOUSE_URL", "SEA_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEA_HOME", str(tmp_path / "sea-home"))
    return tmp_path / "sea-home"


def test_init_creates_schema_and_registry_from_settings(home, capsys):
    assert main(["init"]) == 0
    warehouse = open_warehouse(f"sqlite:///{home}/sea.db")
    assert warehouse.scalar("SELECT MAX(version) FROM schema_version") == LATEST_VERSION
    for table in TABLES:
        assert warehouse.scalar(f"SELECT COUNT(*) FROM {table}") == 0
    warehouse.close()
    assert json.loads((home / "artifacts" / "logs.json").read_text()) == {"models": {}}
    assert f"schema version {LATEST_VERSION} ready" in capsys.readouterr().out


def test_init_twice_changes_nothing(home, capsys):
    assert main(["init"]) == 0
    (home / "artifacts" / "logs.json").write_text('{"models": {}, "prod": {"version": "1.0.0"}}')
    assert main(["init"]) == 0
    assert "0 new keys" in capsys.readouterr().out
    assert json.loads((home / "artifacts" / "logs.json").read_text())["prod"] == {"version": "1.0.0"}


def test_init_skip_store(home):
    assert main(["init", "--skip-store"]) == 0
    assert (home / "sea.db").exists()
    assert not (home / "artifacts" / "logs.json").exists()


def test_init_against_redshift(home, fresh_redshift_url, capsys):
    assert main(["init", "--warehouse", fresh_redshift_url, "--skip-store"]) == 0
    assert "(redshift)" in capsys.readouterr().out
    warehouse = open_warehouse(fresh_redshift_url)
    assert warehouse.scalar("SELECT COUNT(*) FROM schema_version") == 1
    warehouse.close()


def test_init_reports_a_bad_setting(home, monkeypatch, capsys):
    monkeypatch.setenv("SEA_WAREHOUSE_URL", "mysql://u:p@h/db")
    assert main(["init"]) == 1
    assert capsys.readouterr().err.startswith("error: warehouse_url: unknown URL scheme")


def test_init_reports_an_unreachable_warehouse(home, capsys):
    assert main(["init", "--warehouse", "redshift://u:pw@127.0.0.1:9/db?ssl=false&connect_timeout=2"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach Redshift warehouse u@127.0.0.1:9/db" in err and ":pw@" not in err
