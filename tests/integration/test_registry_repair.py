"""`registry repair`: rebuild a lost or corrupt logs.json from the store's version folders
(pipeline.json, the experiment that registered each version, its model card, the prod mirror),
with a dry run that writes nothing; a valid document is never replaced."""

from __future__ import annotations

import io
import json

import pytest

from mlops.adapters.store.layout import version_prefix
from mlops.adapters.store.local import LocalStore
from mlops.entrypoints.cli import main
from mlops.services.registry import LOGS_KEY, Registry
from mlops.services.registry_repair import DocumentState, RepairError, apply_repair, plan_repair


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return request.getfixturevalue("s3_store")


def put_build(store, version: str, parent: str | None, experiment: bool = True) -> None:
    """What a build leaves in the store: the bundle, its experiment record, its model card."""
    settings = {"model_version": version, "taxonomy_version": "t1", "taxonomy_checksum": "c1"}
    store.put_bytes(f"{version_prefix(version)}/pipeline.json", json.dumps(settings).encode())
    store.put_bytes(f"{version_prefix(version)}/taxonomy.json", b"{}")
    if experiment:
        record = {
            "outcome": "registered",
            "version": version,
            "trigger": "retrain",
            "parent_version": parent,
            "metrics": {"jaccard": 0.5},
            "hyperparameters": {"epochs": 1},
            "data": {"train_data_path": "train.csv", "data_version": "1.0.0", "data_checksum": "abc"},
            "evaluation": {"key": "evaluation/x.json"},
            "finished_at": "2026-11-27T05:54:01.123Z",
        }
        store.put_bytes(f"experiments/2026-{version}.json", json.dumps(record).encode())
    store.put_bytes(f"model_cards/{version}.md", b"# card")


@pytest.fixture
def built(store):
    put_build(store, "1.0.0", None)
    put_build(store, "1.1.0", "1.0.0")
    put_build(store, "1.1.1", "1.1.0", experiment=False)
    store.put_bytes("experiments/2026-failed.json", json.dumps({"outcome": "gate-failed"}).encode())
    store.put_bytes("prod/deployment.json", json.dumps({"stage": "prod", "version": "1.1.0"}).encode())
    return store


# -- happy path ----------------------------------------------------------------------------------
def test_a_lost_document_is_rebuilt_from_the_version_folders(built):
    plan = plan_repair(built)
    assert plan.state is DocumentState.MISSING and plan.needed
    assert apply_repair(built, plan) is None
    registry = Registry(built)
    assert [e.version for e in registry.entries()] == ["1.0.0", "1.1.0", "1.1.1"]
    assert registry.stage("prod") == "1.1.0" and registry.stage("dev") is None
    record = registry.get("1.1.0")
    assert record["parent_version"] == "1.0.0" and record["metrics"] == {"jaccard": 0.5}
    assert (record["train_data_path"], record["data_checksum"]) == ("train.csv", "abc")
    assert (record["taxonomy_version"], record["model_card"]) == ("t1", "model_cards/1.1.0.md")
    assert record["timestamp"] == "2026-11-27T05:54:01.123Z" and record["status"] == "registered"
    assert record["repaired"]["from"][:2] == [
        f"{version_prefix('1.1.0')}/pipeline.json",
        "experiments/2026-1.1.0.json",
    ]
    assert registry.next_version("patch") == "1.1.2"  # the next build is not an initial one


def test_a_corrupt_document_is_kept_aside_and_rebuilt(built):
    built.put_bytes(LOGS_KEY, b'{"models": {')
    plan = plan_repair(built)
    assert plan.state is DocumentState.CORRUPT and "corrupt" in plan.problem
    backup = apply_repair(built, plan)
    assert backup is not None and backup.startswith(f"{LOGS_KEY}.corrupt-")
    assert built.get_bytes(backup) == b'{"models": {'
    assert len(Registry(built).entries()) == 3


def test_the_dry_run_writes_nothing(built):
    plan = plan_repair(built)
    assert set(plan.versions) == {"1.0.0", "1.1.0", "1.1.1"}
    assert not built.exists(LOGS_KEY)
    assert any("1.1.1: no experiment record" in note for note in plan.notes)


# -- negative path -------------------------------------------------------------------------------
def test_a_valid_document_is_never_replaced(built):
    built.put_bytes(LOGS_KEY, json.dumps({"models": {"2.0.0": {}}}).encode())
    before = built.get_bytes(LOGS_KEY)
    plan = plan_repair(built)
    assert plan.state is DocumentState.VALID and not plan.needed
    with pytest.raises(RepairError, match="valid"):
        apply_repair(built, plan)
    assert built.get_bytes(LOGS_KEY) == before


def test_a_plan_made_before_the_document_changed_is_refused(built):
    plan = plan_repair(built)
    built.put_bytes(LOGS_KEY, b"[1]")
    with pytest.raises(RepairError, match="changed since the plan"):
        apply_repair(built, plan)


# -- edge cases ----------------------------------------------------------------------------------
def test_no_versions_means_nothing_to_rebuild(store):
    plan = plan_repair(store)
    assert plan.state is DocumentState.MISSING and plan.versions == [] and not plan.needed
    with pytest.raises(RepairError, match="no version bundles"):
        apply_repair(store, plan)


def test_an_unreadable_experiment_record_is_skipped_with_a_note(built):
    built.put_bytes("experiments/2026-broken.json", b"{not json")
    plan = plan_repair(built)
    assert any("2026-broken.json: not a readable" in note for note in plan.notes)
    assert len(plan.versions) == 3


# -- the command ---------------------------------------------------------------------------------
@pytest.fixture
def cli_store(cli_home):
    store = LocalStore(cli_home / "artifacts")
    put_build(store, "1.0.0", None)
    return store


def test_repair_command_dry_run_then_write(cli_store, capsys, monkeypatch):
    from mlops.bootstrap import Bootstrap
    from mlops.services import audit
    from mlops.services.auth import create_user
    from mlops.services.identity import system_user

    with Bootstrap() as services:
        create_user(services.warehouse, "adam", "correct-horse-42", ["admin"], system_user())
        create_user(services.warehouse, "rita", "correct-horse-42", ["reviewer"], system_user())
    assert main(["registry", "repair", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "registry document: missing" in out and '"1.0.0"' in out and "dry run: nothing written" in out
    assert not cli_store.exists(LOGS_KEY)
    with pytest.raises(SystemExit) as anonymous:  # writing needs an authenticated admin
        main(["registry", "repair"])
    assert anonymous.value.code == 2 and not cli_store.exists(LOGS_KEY)
    monkeypatch.setattr("sys.stdin", io.StringIO("correct-horse-42\n"))
    assert main(["registry", "repair", "--user", "rita", "--password-stdin"]) == 1
    assert "rita cannot repair the registry" in capsys.readouterr().err and not cli_store.exists(LOGS_KEY)
    monkeypatch.setattr("sys.stdin", io.StringIO("correct-horse-42\n"))
    assert main(["registry", "repair", "--user", "adam", "--password-stdin"]) == 0
    assert "wrote logs.json with 1 versions" in capsys.readouterr().out
    with Bootstrap() as services:
        [event] = audit.events(services.warehouse, action="registry.repair")
    assert event["actor"] == "adam" and event["details"]["versions"] == 1
    assert main(["registry", "list"]) == 0
    assert "1.0.0" in capsys.readouterr().out
    assert main(["registry", "repair"]) == 0
    assert "nothing to repair" in capsys.readouterr().out
