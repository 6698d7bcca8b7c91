"""Bundle manifests: sha256 and size of every file, written with pipeline.json and checked
before a bundle is served (`sea_core.manifest`, `sea_core.bundle.verify_bundle`)."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from sea_core.bundle import (
    PIPELINE_FILE,
    BundleError,
    BundleIntegrityError,
    load_bundle,
    read_pipeline_settings,
    update_pipeline_settings,
    verify_bundle,
)
from sea_core.manifest import MANIFEST_FILE, ManifestError, read_manifest, verify_manifest, write_manifest


@pytest.fixture
def folder(tmp_path):
    """A bundle-like folder: a nested file and pipeline.json written through the bundle module."""
    (tmp_path / "embedding_model").mkdir()
    (tmp_path / "embedding_model" / "embeddings.npy").write_bytes(b"\x01\x02\x03\x04" * 64)
    (tmp_path / "taxonomy.json").write_text('{"skills": []}')
    (tmp_path / PIPELINE_FILE).write_text("{}")
    update_pipeline_settings(tmp_path, model_version="1.0.0")
    return tmp_path


# -- happy path --------------------------------------------------------------------------------
def test_the_manifest_lists_every_file_with_its_sha256_and_size(folder):
    digests = read_manifest(folder)
    assert sorted(digests) == ["embedding_model/embeddings.npy", PIPELINE_FILE, "taxonomy.json"]
    data = (folder / PIPELINE_FILE).read_bytes()
    assert digests[PIPELINE_FILE].sha256 == hashlib.sha256(data).hexdigest()
    assert digests[PIPELINE_FILE].size == len(data)
    assert verify_bundle(folder) is True
    assert verify_manifest(folder) == 3


def test_updating_settings_keeps_the_manifest_true(folder):
    update_pipeline_settings(folder, model_version="2.0.0")
    assert read_pipeline_settings(folder)["model_version"] == "2.0.0"
    assert verify_bundle(folder) is True


# -- negative path -----------------------------------------------------------------------------
def test_a_same_size_change_is_refused_naming_the_file(folder):
    target = folder / "embedding_model" / "embeddings.npy"
    target.write_bytes(b"\x09\x02\x03\x04" * 64)
    with pytest.raises(BundleIntegrityError, match=r"embedding_model/embeddings\.npy: sha256") as info:
        verify_bundle(folder)
    assert info.value.file == "embedding_model/embeddings.npy"
    assert "refusing to serve" in str(info.value)


def test_a_truncated_file_is_refused_by_its_size(folder):
    target = folder / "taxonomy.json"
    target.write_bytes(target.read_bytes()[:-3])
    with pytest.raises(BundleIntegrityError, match="taxonomy.json: size"):
        verify_bundle(folder)


def test_a_missing_listed_file_is_refused(folder):
    (folder / "taxonomy.json").unlink()
    with pytest.raises(BundleIntegrityError, match="taxonomy.json: missing"):
        verify_bundle(folder)


def test_settings_edited_by_hand_are_refused(folder):
    settings = json.loads((folder / PIPELINE_FILE).read_text())
    (folder / PIPELINE_FILE).write_text(json.dumps({**settings, "min_confidence": 0.0}))
    with pytest.raises(BundleIntegrityError, match=PIPELINE_FILE):
        verify_bundle(folder)


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        json.dumps({"files": []}),
        json.dumps({"files": {"../outside": {"sha256": "0" * 64, "size": 1}}}),
        json.dumps({"files": {"/etc/passwd": {"sha256": "0" * 64, "size": 1}}}),
        json.dumps({"files": {"a": {"sha256": "short", "size": 1}}}),
        json.dumps({"files": {"a": {"sha256": "0" * 64, "size": -1}}}),
        json.dumps({"algorithm": "md5", "files": {}}),
    ],
)
def test_a_malformed_manifest_is_refused(folder, document):
    (folder / MANIFEST_FILE).write_text(document)
    with pytest.raises(BundleIntegrityError, match="unreadable manifest"):
        verify_bundle(folder)
    with pytest.raises(ManifestError):
        read_manifest(folder)


def test_load_bundle_refuses_a_tampered_folder_before_loading_anything(folder):
    (folder / "taxonomy.json").write_text('{"skills": [1]}')
    with pytest.raises(BundleIntegrityError):
        load_bundle(folder)


def test_load_bundle_of_a_missing_folder_is_a_bundle_error(tmp_path):
    with pytest.raises(BundleError, match="no such folder"):
        load_bundle(tmp_path / "absent")


# -- edge cases --------------------------------------------------------------------------------
def test_a_bundle_without_a_manifest_loads_with_a_warning(folder, caplog):
    (folder / MANIFEST_FILE).unlink()
    with caplog.at_level(logging.WARNING, logger="sea_core.bundle"):
        assert verify_bundle(folder) is False
    assert f"has no {MANIFEST_FILE}" in caplog.text


def test_files_added_after_the_manifest_are_not_checked(folder):
    (folder / "deployment.json").write_text("{}")  # e.g. a deployment marker, a cache
    assert verify_bundle(folder) is True


def test_temporary_dot_files_are_never_listed(tmp_path):
    (tmp_path / ".pipeline.json.1234abcd").write_text("half written")
    (tmp_path / "a.txt").write_text("a")
    assert sorted(write_manifest(tmp_path)) == ["a.txt"]


def test_an_empty_folder_has_an_empty_manifest(tmp_path):
    assert write_manifest(tmp_path) == {}
    assert verify_manifest(tmp_path) == 0


# -- boundary ----------------------------------------------------------------------------------
def test_one_byte_more_is_refused(folder):
    target = folder / "taxonomy.json"
    target.write_bytes(target.read_bytes() + b" ")
    with pytest.raises(BundleIntegrityError, match="size"):
        verify_bundle(folder)
