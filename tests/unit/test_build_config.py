"""Build configuration: defaults, file and keyword overrides, validation."""

from __future__ import annotations

import json

import pytest

from mlops.config import load_settings
from mlops.services.build.config import (
    DEFAULTS_PATH,
    MAJOR_KEYS,
    BuildConfigError,
    build_config_from_dict,
    load_build_config,
)
from mlops.services.build.pipeline import candidate_pipeline_config
from sea_core.pipeline import DEFAULT_MIN_CONFIDENCE


def test_defaults_load_from_the_package_file():
    config = load_build_config()
    defaults = json.loads(DEFAULTS_PATH.read_text())
    assert config.base_encoder is None and defaults["base_encoder"] is None  # from settings
    assert config.loss == "MultipleNegativesRankingLoss" == defaults["loss"]
    assert (config.holdout_fraction, config.min_reviewed) == (0.25, 30)
    assert config.gate.self_top_k == 3
    assert config.primary_metric is None and config.promotion_margin is None  # from settings
    assert config.pipeline == {} == defaults["pipeline"]


def test_null_settings_are_resolved_from_the_settings(tmp_path):
    settings = load_settings(
        {"SEA_BASE_ENCODER": "team-encoder", "SEA_PRIMARY_METRIC": "mrr", "SEA_PROMOTION_MARGIN": "0.02"},
        tmp_path / "none.toml",
    )
    resolved = load_build_config().resolved(settings)
    assert (resolved.base_encoder, resolved.primary_metric, resolved.promotion_margin) == (
        "team-encoder",
        "mrr",
        0.02,
    )
    assert resolved.candidates == ("team-encoder",)
    assert resolved.hyperparameters()["base_encoder"] == "team-encoder"
    own = load_build_config(base_encoder="mine", primary_metric="cosine_f1", promotion_margin=0.0).resolved(
        settings
    )
    assert (own.base_encoder, own.primary_metric, own.promotion_margin) == ("mine", "cosine_f1", 0.0)


def test_candidate_bundles_get_the_pipeline_defaults_unless_configured():
    plain = candidate_pipeline_config(None, load_build_config(), 2000)
    assert plain.min_confidence == DEFAULT_MIN_CONFIDENCE == 0.45
    assert (plain.top_k, plain.max_text_chars) == (10, 2000)
    champion = {
        "model_version": "1.0.0",
        "top_k": 5,
        "min_confidence": 0.5,
        "match": {"span_weight": 0.7, "text_top_n": 4},
    }
    kept = candidate_pipeline_config(champion, load_build_config(), 2000)
    assert (kept.top_k, kept.min_confidence, kept.match.span_weight) == (5, 0.5, 0.7)
    configured = load_build_config(pipeline={"min_confidence": 0.6, "match": {"span_weight": 0.4}})
    over = candidate_pipeline_config(champion, configured, 2000)
    assert (over.top_k, over.min_confidence) == (5, 0.6)
    assert (over.match.span_weight, over.match.text_top_n) == (0.4, 4)  # match merges by key


def test_keyword_overrides_merge_gate_key_by_key():
    config = load_build_config(max_steps=3, gate={"latency_budget_ms": 500.0})
    assert config.max_steps == 3
    assert config.gate.latency_budget_ms == 500.0
    assert config.gate.self_top_k == 3  # untouched gate keys keep their defaults


def test_toml_file_with_build_table(tmp_path):
    path = tmp_path / "build.toml"
    path.write_text(
        '[build]\nmax_steps = 7\ncandidate_encoders = ["a", "b"]\n[build.gate]\nmin_golden_recall = 0.25\n'
    )
    config = load_build_config(path)
    assert config.max_steps == 7
    assert config.candidates == ("a", "b")
    assert config.gate.min_golden_recall == 0.25


def test_json_file_and_overrides_win_over_the_file(tmp_path):
    path = tmp_path / "build.json"
    path.write_text(json.dumps({"batch_size": 8, "seed": 7}))
    config = load_build_config(path, seed=9)
    assert (config.batch_size, config.seed) == (8, 9)


def test_candidates_default_to_the_base_encoder():
    assert load_build_config(base_encoder="x").candidates == ("x",)


def test_hyperparameters_record_what_defines_the_model():
    hyper = load_build_config().hyperparameters("other-encoder", matcher="spans")
    assert hyper["base_encoder"] == "other-encoder" and hyper["matcher"] == "spans"
    assert set(MAJOR_KEYS) <= set(hyper)
    assert "matcher" not in load_build_config().hyperparameters()  # not known: not recorded
    assert "gate" not in hyper and "device" not in hyper and "pipeline" not in hyper
    assert {"max_steps", "batch_size", "learning_rate", "seed", "taxonomy_pairs"} <= set(hyper)
    assert "holdout_fraction" not in hyper  # how it is evaluated, not what defines it


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"loss": "HingeLoss"}, "loss"),
        ({"loss": "CosineSimilarityLoss"}, "loss"),
        ({"max_steps": 0}, "max_steps"),
        ({"min_reviewed": 0}, "min_reviewed"),
        ({"holdout_fraction": 0.5}, "holdout_fraction"),
        ({"taxonomy_pairs": -1}, "taxonomy_pairs"),
        ({"batch_size": 1}, "batch_size"),
        ({"test_fraction": 0.5}, "test_fraction"),
        ({"val_fraction": 0.0}, "val_fraction"),
        ({"promotion_margin": 1.5}, "promotion_margin"),
        ({"base_encoder": "  "}, "base_encoder"),
        ({"pipeline": {"threshold": 0.5}}, "pipeline.threshold"),
        ({"pipeline": {"min_confidence": 1.5}}, "pipeline.min_confidence"),
        ({"pipeline": {"top_k": -1}}, "pipeline.top_k"),
        ({"pipeline": {"match": {"weight": 1}}}, "pipeline: invalid pipeline settings"),
        ({"gate": {"min_self_match": 1.2}}, "gate.min_self_match"),
        ({"gate": {"latency_budget_ms": 0}}, "gate.latency_budget_ms"),
        ({"gate": {"unknown": 1}}, "gate.unknown"),
        ({"learning_speed": 1}, "learning_speed"),
    ],
)
def test_invalid_settings_name_the_key(overrides, message):
    with pytest.raises(BuildConfigError, match=message.replace(".", r"\.")):
        load_build_config(**overrides)


def test_boundary_fractions_just_inside_are_accepted():
    config = build_config_from_dict(
        {
            "val_fraction": 0.49,
            "test_fraction": 0.01,
            "promotion_margin": 1.0,
            "gate": {"min_self_match": 1.0},
        }
    )
    assert config.promotion_margin == 1.0 and config.gate.min_self_match == 1.0


def test_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "build.toml"
    path.write_text("not = [valid")
    with pytest.raises(BuildConfigError, match="cannot be read"):
        load_build_config(path)


def test_the_encoder_backend_defaults_to_onnx_and_follows_the_settings(tmp_path):
    none = tmp_path / "none.toml"
    assert load_settings({}, none).encoder_backend == "onnx"
    settings = load_settings({"SEA_ENCODER_BACKEND": "Torch"}, none)  # case-insensitive
    assert settings.encoder_backend == "torch"
    assert load_build_config().encoder_backend is None  # from the settings
    assert load_build_config().resolved(settings).encoder_backend == "torch"
    own = load_build_config(encoder_backend="onnx-int8").resolved(settings)
    assert own.encoder_backend == "onnx-int8"
    assert "encoder_backend" not in own.hyperparameters()  # recorded beside them, not a weights key


@pytest.mark.parametrize("raw", ["tensorrt", "  "])
def test_an_unknown_encoder_backend_setting_is_named(tmp_path, raw):
    with pytest.raises(ValueError, match="encoder_backend"):
        load_settings({"SEA_ENCODER_BACKEND": raw}, tmp_path / "none.toml")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"encoder_backend": "tensorrt"}, "encoder_backend: unknown"),
        ({"gate": {"latency_max_ratio": 0}}, "gate.latency_max_ratio"),
        ({"gate": {"latency_runs": 0}}, "gate.latency_runs"),
        ({"gate": {"latency_runs": 2.5}}, "gate.latency_runs"),
    ],
)
def test_invalid_backend_and_latency_settings_name_the_key(overrides, message):
    with pytest.raises(BuildConfigError, match=message.replace(".", r"\.")):
        load_build_config(**overrides)


def test_the_latency_gate_is_a_ratio_with_no_absolute_budget_by_default():
    gate = load_build_config().gate
    assert (gate.latency_max_ratio, gate.latency_runs, gate.latency_budget_ms) == (4.0, 5, None)
    boundary = load_build_config(gate={"latency_runs": 1, "latency_max_ratio": 0.001}).gate
    assert (boundary.latency_runs, boundary.latency_max_ratio) == (1, 0.001)
