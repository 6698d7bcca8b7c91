"""Tampered artefacts (issue 11, Medium 9): a bundle file that differs from the bundle's
manifest is never served, whether it sits in a bundle folder, a serving folder or the artifact
store; a corrupt download is never cached, and a corrupt cached copy is fetched again."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mlops.adapters.deploy.base import DeployError
from mlops.adapters.deploy.local import LocalTarget, serving_dir
from mlops.adapters.store import open_store
from mlops.adapters.store.layout import version_prefix
from mlops.config import load_settings
from mlops.services.model_loading import ModelLoadingError, fetch_version, load_pipeline
from mlops.services.registry import Registry
from sea_core.bundle import EMBEDDING_MODEL_DIR, BundleIntegrityError, load_bundle
from sea_core.embeddings import EMBEDDINGS_FILE
from tests.integration.serving_support import make_bundle

pytestmark = [pytest.mark.fault, pytest.mark.usefixtures("fresh_model_cache")]

EMBEDDINGS = f"{EMBEDDING_MODEL_DIR}/{EMBEDDINGS_FILE}"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, tiny_sentence_encoder_dir) -> Path:
    return make_bundle(tmp_path_factory.mktemp("pristine") / "1.0.0", tiny_sentence_encoder_dir, "1.0.0")


@pytest.fixture
def bundle(tmp_path, pristine) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "bundle"))


@pytest.fixture
def settings(tmp_path):
    return load_settings(env={"SEA_HOME": str(tmp_path / "home")}, secrets_path=tmp_path / "absent.toml")


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, settings, pristine):
    """The pristine bundle registered as 1.0.0 and pointed at by prod, in a local store and on
    moto's S3 server."""
    store = (
        open_store(settings.store_url) if request.param == "local" else request.getfixturevalue("s3_store")
    )
    store.put_dir(version_prefix("1.0.0"), pristine)
    registry = Registry(store)
    registry.register("1.0.0", {"model_path": version_prefix("1.0.0")})
    registry.set_stage("prod", "1.0.0", who="tester")
    return store


def random_same_shape(path: Path) -> None:
    """Overwrite an embeddings file with random vectors of the same shape and dtype."""
    matrix = np.load(path)
    rng = np.random.default_rng(7)
    np.save(path, rng.standard_normal(matrix.shape).astype(matrix.dtype) * 3)
    assert np.load(path).shape == matrix.shape


def test_random_same_shape_embeddings_are_refused_at_load(bundle):
    random_same_shape(bundle / EMBEDDINGS)
    with pytest.raises(BundleIntegrityError, match=r"embeddings\.npy: sha256"):
        load_bundle(bundle)


def test_a_tampered_serving_folder_is_not_served(settings, store, pristine):
    folder = serving_dir(settings.home, "prod")
    shutil.copytree(pristine, folder)
    random_same_shape(folder / EMBEDDINGS)
    with pytest.raises(BundleIntegrityError, match="embeddings.npy"):
        load_pipeline(settings, store=store, stage="prod")


def test_a_truncated_store_copy_is_refused_not_cached_and_fetched_again_once_mended(
    settings, store, pristine
):
    key = f"{version_prefix('1.0.0')}/{EMBEDDINGS}"
    good = store.get_bytes(key)
    store.put_bytes(key, good[: len(good) // 2])
    cache = Path(settings.home) / "cache" / "versions"
    with pytest.raises(ModelLoadingError, match=r"1\.0\.0 .*integrity check: .*embeddings\.npy: size"):
        load_pipeline(settings, store=store, stage="prod")
    assert not cache.exists() or list(cache.iterdir()) == []  # nothing cached, no partial folder
    store.put_bytes(key, good)  # the store copy is restored
    assert load_pipeline(settings, store=store, stage="prod").model_version == "1.0.0"


def test_a_corrupt_cached_copy_is_removed_and_fetched_again(store, tmp_path):
    dest = tmp_path / "cache" / "1.0.0"
    fetch_version(store, "1.0.0", dest)
    random_same_shape(dest / EMBEDDINGS)
    fetch_version(store, "1.0.0", dest)
    assert load_bundle(dest).model_version == "1.0.0"  # verifies again: the store's good copy


def test_a_tampered_store_copy_is_never_deployed(settings, store):
    key = f"{version_prefix('1.0.0')}/taxonomy.json"
    store.put_bytes(key, store.get_bytes(key).replace(b"python", b"pythoN"))
    target = LocalTarget(store, settings.home)
    with pytest.raises(DeployError, match="taxonomy.json: sha256"):
        target.deploy("dev", "1.0.0", version_prefix("1.0.0"))
    assert not target.serving_dir("dev").exists()
