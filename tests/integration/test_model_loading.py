"""Which model a process serves: serving folder, registry pointer (fetched from the store),
explicit version, or the default pipeline on a fresh machine; and the in-process cache."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mlops.adapters.deploy.local import serving_dir
from mlops.adapters.store import open_store
from mlops.adapters.store.layout import version_prefix
from mlops.config import load_settings
from mlops.services import model_loading
from mlops.services.model_loading import ModelLoadingError, fetch_version, load_pipeline
from mlops.services.registry import Registry
from tests.integration.serving_support import SKILL_TITLES, make_bundle


@pytest.fixture(autouse=True)
def fresh_cache():
    model_loading.clear_cache()
    yield
    model_loading.clear_cache()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, tiny_sentence_encoder_dir):
    root = tmp_path_factory.mktemp("bundles")
    return {v: make_bundle(root / v, tiny_sentence_encoder_dir, v) for v in ("1.0.0", "1.1.0")}


@pytest.fixture
def settings(tmp_path, tiny_sentence_encoder_dir):
    csv = tmp_path / "skills.csv"
    csv.write_text("title,type\n" + "\n".join(f"{t},skill" for t in SKILL_TITLES) + "\n")
    return load_settings(
        env={
            "SEA_HOME": str(tmp_path / "home"),
            "SEA_BASE_MODEL": str(tiny_sentence_encoder_dir),
            "SEA_TAXONOMY_PATH": str(csv),
        },
        secrets_path=tmp_path / "absent.toml",
    )


@pytest.fixture
def store(settings):
    return open_store(settings.store_url)


def publish(store, bundles, version, stage=None):
    store.put_dir(version_prefix(version), bundles[version])
    registry = Registry(store)
    registry.register(version, {"model_path": version_prefix(version)})
    if stage:
        registry.set_stage(stage, version, who="tester")


# -- happy path --------------------------------------------------------------------------------
def test_registry_pointer_is_fetched_and_loaded(settings, store, bundles):
    publish(store, bundles, "1.0.0", "prod")
    publish(store, bundles, "1.1.0", "uat")
    assert load_pipeline(settings, store=store).model_version == "1.0.0"
    assert load_pipeline(settings, store=store, stage="uat").model_version == "1.1.0"
    assert (Path(settings.home) / "cache" / "versions" / "1.1.0" / "pipeline.json").is_file()


def test_serving_folder_wins_over_the_registry(settings, store, bundles):
    publish(store, bundles, "1.0.0", "prod")
    shutil.copytree(bundles["1.1.0"], serving_dir(settings.home, "prod"))
    assert load_pipeline(settings, store=store, stage="prod").model_version == "1.1.0"


def test_explicit_version_is_loaded_whatever_the_stages(settings, store, bundles):
    publish(store, bundles, "1.0.0", "prod")
    publish(store, bundles, "1.1.0")
    assert load_pipeline(settings, store=store, version="1.1.0").model_version == "1.1.0"


def test_fresh_machine_gets_the_default_pipeline(settings, store):
    pipeline = load_pipeline(settings, store=store, stage="dev")
    assert pipeline.model_version == "0.0.0"
    assert [s.title for s in pipeline.taxonomy] == list(SKILL_TITLES)
    assert pipeline.config.max_text_chars == settings.max_text_chars
    cached = list((Path(settings.home) / "cache" / "default").rglob("embeddings.npy"))
    assert len(cached) == 1


def test_loaded_pipelines_are_reused_and_a_promotion_is_picked_up(settings, store, bundles):
    publish(store, bundles, "1.0.0", "prod")
    with ThreadPoolExecutor(4) as pool:
        loaded = list(pool.map(lambda _: load_pipeline(settings, store=store), range(4)))
    assert all(p is loaded[0] for p in loaded)
    publish(store, bundles, "1.1.0")
    Registry(store).set_stage("prod", "1.1.0", who="tester")
    assert load_pipeline(settings, store=store).model_version == "1.1.0"


def test_fetch_reuses_a_complete_folder_and_leaves_no_temporary_folders(store, bundles, tmp_path):
    publish(store, bundles, "1.0.0")
    dest = tmp_path / "fetched" / "1.0.0"
    assert fetch_version(store, "1.0.0", dest) == dest
    marker = dest / "marker"
    marker.write_text("kept")
    fetch_version(store, "1.0.0", dest)
    assert marker.read_text() == "kept"  # reused, not downloaded again
    assert [p.name for p in dest.parent.iterdir()] == ["1.0.0"]


def test_an_incomplete_folder_is_replaced(store, bundles, tmp_path):
    publish(store, bundles, "1.0.0")
    dest = tmp_path / "fetched" / "1.0.0"
    (dest / "embedding_model").mkdir(parents=True)  # an interrupted copy: no pipeline.json
    fetch_version(store, "1.0.0", dest)
    assert (dest / "pipeline.json").is_file() and (dest / "taxonomy.json").is_file()


# -- negative path -----------------------------------------------------------------------------
def test_empty_stage_with_registered_versions_is_an_error(settings, store, bundles):
    publish(store, bundles, "1.0.0", "prod")
    with pytest.raises(ModelLoadingError, match="no model is deployed to uat.*1.0.0"):
        load_pipeline(settings, store=store, stage="uat")


def test_unknown_version_is_an_error_and_leaves_nothing(settings, store, tmp_path):
    with pytest.raises(ModelLoadingError, match="9.9.9 has no files"):
        fetch_version(store, "9.9.9", tmp_path / "dest" / "9.9.9")
    assert list((tmp_path / "dest").iterdir()) == []


def test_a_version_without_pipeline_json_is_not_a_bundle(store, tmp_path):
    store.put_bytes(f"{version_prefix('2.0.0')}/embedding_model/config.json", b"{}")
    with pytest.raises(ModelLoadingError, match="not a bundle"):
        fetch_version(store, "2.0.0", tmp_path / "d" / "2.0.0")
    assert not (tmp_path / "d" / "2.0.0").exists()


@pytest.mark.parametrize("stage", ["staging", "", "PRODUCTION"])
def test_unknown_stage_is_an_error(settings, store, stage):
    with pytest.raises(ModelLoadingError, match="unknown stage"):
        load_pipeline(settings, store=store, stage=stage)


def test_stage_and_version_together_are_refused(settings, store):
    with pytest.raises(ModelLoadingError, match="not both"):
        load_pipeline(settings, store=store, stage="prod", version="1.0.0")


def test_stage_names_are_case_insensitive(settings):
    assert serving_dir(settings.home, "PROD") == Path(settings.home) / "serving" / "prod"
