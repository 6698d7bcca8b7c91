"""Shared test set-up: offline model hubs, shared fixtures from tests/fixtures."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = [
    "tests.fixtures.models",
    "tests.fixtures.tiny_models",
    "tests.fixtures.postgres",
    "tests.fixtures.s3",
]


# -- the shared warehouse fixtures ---------------------------------------------------------------
import pytest  # noqa: E402 - after the environment defaults above

from mlops.adapters.warehouse import open_warehouse  # noqa: E402 - after the environment defaults above


def _opened(url: str):
    warehouse = open_warehouse(url)
    warehouse.init_schema()
    return warehouse


@pytest.fixture
def wh(tmp_path):
    """A fresh SQLite warehouse with the schema (the embedded default)."""
    warehouse = _opened(f"sqlite:///{tmp_path}/warehouse.db")
    yield warehouse
    warehouse.close()


@pytest.fixture(params=["sqlite", pytest.param("redshift", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path) -> str:
    """The URL of a fresh, empty warehouse: a SQLite file, then PostgreSQL behind pgbouncer
    driven as Redshift (`postgres` marker)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/warehouse.db"
    return request.getfixturevalue("fresh_redshift_url")


@pytest.fixture
def warehouse(warehouse_url):
    """A fresh warehouse with the schema, once per `warehouse_url` kind."""
    opened = _opened(warehouse_url)
    yield opened
    opened.close()


# -- command-line and model-cache helpers ----------------------------------------------------------
@pytest.fixture
def cli_home(tmp_path, monkeypatch):
    """`$SEA_HOME` under tmp_path for in-process `python -m mlops` runs: no secrets file in the
    working directory, no warehouse or store URL from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("SEA_WAREHOUSE_URL", "SEA_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEA_HOME", str(tmp_path / "sea-home"))
    return tmp_path / "sea-home"


@pytest.fixture
def fresh_model_cache():
    """No pipeline loaded by an earlier test is reused (mlops.services.model_loading's cache)."""
    from mlops.services import model_loading

    model_loading.clear_cache()
    yield
    model_loading.clear_cache()
