"""The composition root on real SQLite and a local store: each part opened once, parts injected,
settings overridden, the taxonomy following imports, prediction logs closed; and the UAT
comparison's warehouse reads."""

from __future__ import annotations

import pytest

from mlops.adapters.warehouse import WarehouseError
from mlops.bootstrap import Bootstrap, ServiceUnavailable
from mlops.config import load_settings
from mlops.services.uat_compare import confirmed_skills, recent_texts


def settings_in(tmp_path, **env):
    return load_settings(env={"SEA_HOME": str(tmp_path / "home"), **env}, secrets_path=tmp_path / "none.toml")


def test_bootstrap_opens_each_part_once_and_injects_parts(tmp_path):
    fake = object()
    services = Bootstrap(settings_in(tmp_path), inference=fake)
    assert services.warehouse is services.warehouse and services.store is services.store
    assert services.registry is services.registry and services.registry.store is services.store
    assert services.deploy_target is services.deploy_target
    assert services.warehouse.scalar("SELECT COUNT(*) FROM users") == 0  # schema created
    assert services.inference() is fake and services.inference("uat") is fake
    services.warm_up()  # nothing to warm with an injected client
    assert services.model_loading() is False
    services.close()


def test_overrides_replace_settings_and_none_is_ignored(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    services = Bootstrap(settings_in(tmp_path), overrides={"warehouse_url": url, "store_url": None})
    assert services.settings.warehouse_url == url
    assert services.settings.store_url == (tmp_path / "home" / "artifacts").as_uri()
    services.warehouse.execute("INSERT INTO users (username, roles, disabled) VALUES ('u', '', 0)")
    services.close()
    assert (tmp_path / "other.db").is_file() and not (tmp_path / "home" / "sea.db").exists()


def test_settings_are_read_on_first_use(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    services = Bootstrap()
    monkeypatch.setenv("SEA_HOME", str(tmp_path / "late"))
    assert services.settings.home == tmp_path / "late"


def test_prediction_logs_queue_by_name_and_close_with_the_bootstrap(tmp_path):
    services = Bootstrap(settings_in(tmp_path))
    assert services.prediction_log is services.prediction_log
    assert services.prediction_log.queue_dir == tmp_path / "home" / "queue" / "app"
    server_log = services.open_prediction_log("server-8080", background=False)
    assert server_log.queue_dir == tmp_path / "home" / "queue" / "server-8080"
    record = {
        "modelVersion": "1.0.0",
        "timestamp": "2026-01-01T00:00:00",
        "requestId": "r1",
        "original_input": "text",
        "skillExtractOutput": [],
    }
    server_log.log(record, "prod", 3.0)
    warehouse = services.warehouse
    services.close()
    assert server_log.pending()["archive"] == 0  # flushed on close
    with pytest.raises(WarehouseError, match="is closed"):
        warehouse.scalar("SELECT 1")


def test_a_model_that_cannot_load_is_service_unavailable(tmp_path):
    services = Bootstrap(settings_in(tmp_path, SEA_BASE_MODEL=str(tmp_path / "no-such-model")))
    with pytest.raises(ServiceUnavailable, match="the dev model could not be loaded"):
        services.inference("dev")


def test_taxonomy_follows_the_newest_import(tmp_path, monkeypatch):
    from mlops import bootstrap
    from mlops.services.identity import system_user
    from mlops.services.taxonomy_import import import_taxonomy

    first = tmp_path / "first.csv"
    first.write_text("title\nPython programming\nSQL\n", encoding="utf-8")
    second = tmp_path / "second.csv"
    second.write_text("title\nPython programming\nSQL\nCloud computing\n", encoding="utf-8")
    settings = load_settings(
        env={"SEA_HOME": str(tmp_path / "h"), "SEA_TAXONOMY_PATH": str(first)},
        secrets_path=tmp_path / "none.toml",
    )
    context = Bootstrap(settings)
    assert [s.title for s in context.taxonomy] == ["Python programming", "SQL"]  # the configured one
    import_taxonomy(context.warehouse, second, system_user(), queue_build=False)
    assert len(context.taxonomy) == 2  # not re-checked yet
    monkeypatch.setattr(bootstrap, "TAXONOMY_RECHECK_S", 0.0)
    assert sorted(s.title for s in context.taxonomy) == ["Cloud computing", "Python programming", "SQL"]
    context.close()


def test_recent_texts_and_confirmed_skills(tmp_path):
    services = Bootstrap(settings_in(tmp_path))
    warehouse = services.warehouse
    for index, status in enumerate(["ok", "ok", "error"]):
        warehouse.execute(
            "INSERT INTO prediction_requests (request_id, created_at, original_input, status) "
            "VALUES (?, ?, ?, ?)",
            (f"r{index}", f"2026-01-0{index + 1}T00:00:00", f"text {index}", status),
        )
    warehouse.execute("INSERT INTO feedback_submissions (request_id, reviewer) VALUES ('r0', 'rita')")
    warehouse.execute("INSERT INTO feedback (request_id, skill_id, decision) VALUES ('r0', 'a', 'accepted')")
    warehouse.execute("INSERT INTO feedback (request_id, skill_id, decision) VALUES ('r0', 'b', 'rejected')")
    assert [r["request_id"] for r in recent_texts(warehouse, 10)] == ["r1", "r0"]
    assert [r["request_id"] for r in recent_texts(warehouse, 1)] == ["r1"]
    assert [r["request_id"] for r in recent_texts(warehouse, 10, reviewed_only=True)] == ["r0"]
    assert confirmed_skills(warehouse, ["r0", "r1"]) == {"r0": {"a"}}
    assert confirmed_skills(warehouse, []) == {}
    with pytest.raises(ValueError):
        recent_texts(warehouse, 0)
    services.close()
