"""The local deployment target: serving folders swapped in whole, PROD mirrored to `prod/`."""

from __future__ import annotations

import json
import threading

import pytest

from mlops.adapters.deploy import DeployError, LocalTarget, bundle_prefix
from mlops.adapters.deploy.local import DEPLOYMENT_FILE
from mlops.adapters.store import open_store


@pytest.fixture
def store(tmp_path):
    return open_store((tmp_path / "artifacts").as_uri())


def served_version(target, stage):
    """The version in a stage folder's deployment marker (None: nothing deployed)."""
    marker = target.serving_dir(stage) / DEPLOYMENT_FILE
    return json.loads(marker.read_text(encoding="utf-8"))["version"] if marker.is_file() else None


def write_bundle(store, version, files):
    for name, data in files.items():
        store.put_bytes(f"{bundle_prefix(version)}{name}", data)


def test_deploy_copies_the_bundle_into_the_stage_folder(store, tmp_path):
    write_bundle(store, "1.0.0", {"pipeline.json": b"{}", "embedding_model/w.bin": b"abc"})
    target = LocalTarget(store, tmp_path / "home")
    outcome = target.deploy("dev", "1.0.0", bundle_prefix("1.0.0"))
    folder = tmp_path / "home" / "serving" / "dev"
    assert outcome["path"] == str(folder) and outcome["files"] == 2
    assert outcome["mirror"] is None
    assert (folder / "embedding_model" / "w.bin").read_bytes() == b"abc"
    marker = json.loads((folder / DEPLOYMENT_FILE).read_text())
    assert (marker["stage"], marker["version"]) == ("dev", "1.0.0")
    assert not store.list("prod/")


def test_redeploy_replaces_the_whole_folder(store, tmp_path):
    write_bundle(store, "1.0.0", {"pipeline.json": b"1", "only_in_old.txt": b"x"})
    write_bundle(store, "1.1.0", {"pipeline.json": b"2"})
    target = LocalTarget(store, tmp_path / "home")
    target.deploy("uat", "1.0.0", bundle_prefix("1.0.0"))
    target.deploy("uat", "1.1.0", bundle_prefix("1.1.0"))
    folder = target.serving_dir("uat")
    assert sorted(p.name for p in folder.iterdir()) == [DEPLOYMENT_FILE, "pipeline.json"]
    assert (folder / "pipeline.json").read_bytes() == b"2"
    assert served_version(target, "uat") == "1.1.0"
    leftovers = [p.name for p in folder.parent.iterdir() if p.name.startswith(".") and p.is_dir()]
    assert leftovers == []


def test_prod_is_mirrored_under_the_store_prod_prefix(store, tmp_path):
    write_bundle(store, "1.0.0", {"pipeline.json": b"1", "stale.txt": b"old"})
    write_bundle(store, "1.1.0", {"pipeline.json": b"2"})
    target = LocalTarget(store, tmp_path / "home")
    target.deploy("prod", "1.0.0", bundle_prefix("1.0.0"))
    outcome = target.deploy("prod", "1.1.0", bundle_prefix("1.1.0"))
    assert outcome["mirror"] == "prod/"
    assert store.list("prod/") == ["prod/deployment.json", "prod/pipeline.json"]
    assert store.get_bytes("prod/pipeline.json") == b"2"
    assert json.loads(store.get_bytes("prod/deployment.json"))["version"] == "1.1.0"


def test_missing_bundle_is_a_clear_error_and_keeps_the_current_deployment(store, tmp_path):
    write_bundle(store, "1.0.0", {"pipeline.json": b"1"})
    target = LocalTarget(store, tmp_path / "home")
    target.deploy("dev", "1.0.0", bundle_prefix("1.0.0"))
    with pytest.raises(DeployError, match="no bundle under finetuned_models/mlops/versions/2.0.0/"):
        target.deploy("dev", "2.0.0", bundle_prefix("2.0.0"))
    assert served_version(target, "dev") == "1.0.0"
    assert [p for p in target.serving_dir("dev").parent.iterdir() if p.name.startswith(".incoming")] == []


def test_unknown_stage_is_refused(store, tmp_path):
    with pytest.raises(DeployError, match="unknown stage 'qa'"):
        LocalTarget(store, tmp_path).deploy("qa", "1.0.0", bundle_prefix("1.0.0"))


def test_nothing_deployed_reads_as_none(store, tmp_path):
    assert served_version(LocalTarget(store, tmp_path), "prod") is None


def test_concurrent_deploys_of_one_stage_leave_one_whole_bundle(store, tmp_path):
    for i in range(4):
        write_bundle(
            store,
            f"1.{i}.0",
            {"pipeline.json": str(i).encode(), "embedding_model/w.bin": str(i).encode() * 100},
        )
    target = LocalTarget(store, tmp_path / "home")
    threads = [
        threading.Thread(target=target.deploy, args=("dev", f"1.{i}.0", bundle_prefix(f"1.{i}.0")))
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    version = served_version(target, "dev")
    i = version.split(".")[1]
    folder = target.serving_dir("dev")
    assert (folder / "pipeline.json").read_bytes() == i.encode()
    assert (folder / "embedding_model" / "w.bin").read_bytes() == i.encode() * 100
