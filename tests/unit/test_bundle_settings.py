"""pipeline.json settings: sea_core.bundle reads them with PipelineConfig's defaults and is the
one writer that updates them."""

from __future__ import annotations

import json

import pytest

from sea_core.bundle import (
    PIPELINE_FILE,
    BundleError,
    is_bundle,
    pipeline_config,
    read_pipeline_settings,
    update_pipeline_settings,
)
from sea_core.manifest import MANIFEST_FILE
from sea_core.matching import MatchConfig, RerankSettings
from sea_core.pipeline import DEFAULT_MIN_CONFIDENCE, DEFAULT_TOP_K, PipelineConfig


def test_absent_settings_take_the_pipeline_defaults():
    config = pipeline_config({"model_version": "1.0.0", "span_extractor": {"kind": "phrases"}})
    assert config == PipelineConfig()
    assert (config.top_k, config.min_confidence) == (DEFAULT_TOP_K, DEFAULT_MIN_CONFIDENCE)


def test_given_settings_are_used_and_match_keys_default_one_by_one():
    config = pipeline_config(
        {"top_k": 3, "min_confidence": 0.6, "max_text_chars": 100, "match": {"span_weight": 0.8}}
    )
    assert (config.top_k, config.min_confidence, config.max_text_chars) == (3, 0.6, 100)
    # a recorded match table keeps the matcher it was built with: knobs it predates are off
    assert config.match == MatchConfig(
        span_weight=0.8, text_top_n=10, exact_name_bonus=0.0, rerank=RerankSettings()
    )


def test_no_match_table_means_todays_matcher():
    assert pipeline_config({"top_k": 3}).match == MatchConfig()


def test_unknown_match_keys_are_a_bundle_error():
    with pytest.raises(BundleError, match="invalid pipeline settings"):
        pipeline_config({"match": {"weight": 1}})


def test_update_keeps_the_other_keys_and_leaves_no_temporary_file(tmp_path):
    assert not is_bundle(tmp_path)
    (tmp_path / PIPELINE_FILE).write_text(json.dumps({"model_version": "0.0.0", "top_k": 4, "custom": [1]}))
    assert is_bundle(tmp_path)
    updated = update_pipeline_settings(tmp_path, model_version="1.2.0")
    assert (
        updated == read_pipeline_settings(tmp_path) == {"model_version": "1.2.0", "top_k": 4, "custom": [1]}
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_FILE, PIPELINE_FILE]


def test_updating_a_folder_without_settings_is_a_bundle_error(tmp_path):
    with pytest.raises(BundleError, match="cannot read"):
        update_pipeline_settings(tmp_path, model_version="1.0.0")
