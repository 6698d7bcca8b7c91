"""A corrupt, malformed or deleted registry document (issue 11, Low): every reader reports it
as such (never "not a registered version", never an empty registry), `init` does not say ready
on it or recreate a lost one empty, and the next build does not start over as an initial build.
On the local store and on moto's S3 server."""

from __future__ import annotations

import json

import pytest

from mlops.adapters.deploy import LocalTarget
from mlops.adapters.store import open_store
from mlops.adapters.store.layout import version_prefix
from mlops.adapters.store.local import LocalStore
from mlops.config import load_settings
from mlops.entrypoints.cli import main
from mlops.entrypoints.commands.init import init_store
from mlops.services import model_loading, release
from mlops.services.build.pipeline import champion_record
from mlops.services.registry import LOGS_KEY, Registry, RegistryDocumentError, UnknownVersionError

CORRUPT = [b'{"models": {', b"\xff\xfe", b"[1, 2]", b'{"models": []}', b'{"prod": "1.0.0", "models": {}}']


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return request.getfixturevalue("s3_store")


def put_version(store, version: str) -> None:
    store.put_bytes(
        f"{version_prefix(version)}/pipeline.json", json.dumps({"model_version": version}).encode()
    )


@pytest.fixture
def lost(store):
    """Two registered versions, then logs.json deleted."""
    registry = Registry(store)
    for version in ("1.0.0", "1.1.0"):
        put_version(store, version)
        registry.register(version, {"model_path": version_prefix(version)})
    registry.set_stage("prod", "1.1.0", who="ada")
    store.delete(LOGS_KEY)
    return registry


# -- corrupt and malformed documents -------------------------------------------------------------
@pytest.mark.parametrize("content", CORRUPT)
def test_a_corrupt_document_is_corrupt_to_every_reader(store, wh, tmp_path, content):
    store.put_bytes(LOGS_KEY, content)
    registry = Registry(store)
    for read in (
        registry.read,
        registry.entries,
        lambda: registry.entry("1.0.0"),
        lambda: registry.stage("prod"),
    ):
        with pytest.raises(RegistryDocumentError, match="corrupt"):
            read()
    with pytest.raises(RegistryDocumentError, match="corrupt"):  # not "not a registered version"
        release.deploy_dev(registry, wh, LocalTarget(store, tmp_path / "home"), "1.0.0")
    with pytest.raises(RegistryDocumentError, match="corrupt"):
        init_store(store)
    assert store.get_bytes(LOGS_KEY) == content


def test_an_unknown_version_is_still_told_apart(store, wh, tmp_path):
    registry = Registry(store)
    registry.initialise()
    with pytest.raises(UnknownVersionError):
        registry.entry("9.9.9")
    with pytest.raises(release.ReleaseError, match="9.9.9 is not a registered version"):
        release.deploy_dev(registry, wh, LocalTarget(store, tmp_path / "home"), "9.9.9")


@pytest.mark.parametrize("content", [b'{"models": {', b'{"models": []}'])
@pytest.mark.parametrize("command", [["init"], ["registry", "list"], ["registry", "show", "1.0.0"]])
def test_cli_commands_report_the_corrupt_document(cli_home, capsys, content, command):
    (cli_home / "artifacts").mkdir(parents=True)
    (cli_home / "artifacts" / LOGS_KEY).write_bytes(content)
    assert main(command) != 0
    captured = capsys.readouterr()
    assert "corrupt" in captured.err and "not registered" not in captured.err
    assert "artifact store ready" not in captured.out
    assert (cli_home / "artifacts" / LOGS_KEY).read_bytes() == content


# -- a deleted document while versions exist -----------------------------------------------------
def test_a_lost_document_is_refused_by_readers_and_writers(store, lost):
    for action in (
        lost.read,
        lambda: champion_record(lost),
        lambda: lost.next_version("patch"),
        lambda: lost.register("1.2.0", {}),
        lambda: lost.set_stage("dev", "1.0.0", who="ada"),
    ):
        with pytest.raises(RegistryDocumentError, match=r"missing .* 1\.0\.0, 1\.1\.0 .*registry repair"):
            action()
    assert not store.exists(LOGS_KEY)  # nothing was written


def test_init_does_not_recreate_a_lost_document_empty(store, lost):
    with pytest.raises(RegistryDocumentError, match="missing"):
        init_store(store)
    assert not store.exists(LOGS_KEY)


def test_a_lost_document_is_not_served_as_a_fresh_machine(tmp_path):
    settings = load_settings(env={"SEA_HOME": str(tmp_path / "home")}, secrets_path=tmp_path / "absent.toml")
    store = open_store(settings.store_url)
    put_version(store, "1.0.0")
    Registry(store).register("1.0.0", {})
    store.delete(LOGS_KEY)
    model_loading.clear_cache()
    with pytest.raises(RegistryDocumentError, match="missing"):
        model_loading.load_pipeline(settings, store=store)


# -- edge and boundary: the first registration and stray files -----------------------------------
def test_the_first_registration_after_its_upload_is_not_a_lost_document(store):
    put_version(store, "1.0.0")  # a build uploads before it registers
    Registry(store).register("1.0.0", {})
    assert [e.version for e in Registry(store).entries()] == ["1.0.0"]


def test_a_second_unregistered_bundle_makes_an_absent_document_lost(store):
    put_version(store, "1.0.0")
    put_version(store, "1.1.0")
    with pytest.raises(RegistryDocumentError, match=r"1\.0\.0"):
        Registry(store).register("1.1.0", {})


def test_files_that_are_not_bundles_do_not_count(store):
    store.put_bytes(f"{version_prefix('1.0.0')}/embedding_model/config.json", b"{}")
    store.put_bytes("finetuned_models/mlops/versions/latest/pipeline.json", b"{}")
    assert Registry(store).stored_versions() == []
    assert Registry(store).read() == {"models": {}}
    assert init_store(store) == [LOGS_KEY]
