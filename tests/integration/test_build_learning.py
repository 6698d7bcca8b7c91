"""Builds that learn from reviews (tiny encoder, 120 ESCO skills, SQLite): the reviewed
hold-out is the evaluation set, every candidate's output rule is fitted on the training slice
and served, a calibration-only build is a PATCH, and retraining sees the training slice only."""

from __future__ import annotations

import json
import shutil

import pytest

from mlops.adapters.warehouse.feedback import Submission
from mlops.adapters.warehouse.predictions import LoggedRequest, LoggedSkill
from mlops.adapters.warehouse.repositories import repositories
from mlops.services.build import pipeline as build_pipeline
from mlops.services.build import run_build
from mlops.services.build.experiments import list_experiments
from mlops.services.build.reviews import REVIEWED_SET, reviewed_requests, split_reviewed
from mlops.services.registry import Registry
from sea_core.encoder import Encoder, EncoderError
from sea_core.output_set import OutputRule
from sea_core.pipeline import request_id_for
from tests.unit.build_support import environment, fast_config, small_taxonomy, write_taxonomy

N_SKILLS, N_REVIEWS = 120, 48


def log_reviews(warehouse, taxonomy) -> None:
    """`N_REVIEWS` texts naming one skill each, predicted with two distractors that the
    reviewer rejects (so the shipped rule's three suggestions score Jaccard 1/3 at best)."""
    skills = list(taxonomy)
    with repositories(warehouse).transaction("feedback") as tx:
        for i in range(N_REVIEWS):
            right = skills[(3 * i) % len(skills)]
            wrong = [skills[(3 * i + 1) % len(skills)], skills[(3 * i + 2) % len(skills)]]
            text = f"Applicants must be able to {right.title.lower()} (role {i})."
            rid = request_id_for(text)
            tx.predictions.replace(
                LoggedRequest(
                    rid,
                    "1.0.0",
                    "dev",
                    "2026-01-01T00:00:00",
                    "2026-01-01",
                    "2026-W01",
                    text,
                    len(text),
                    1.0,
                    "ok",
                ),
                [
                    LoggedSkill(r, s.skill_id, s.title, "skill", 0.6, s.title, 1, "[]", None)
                    for r, s in enumerate([right, *wrong])
                ],
            )
            tx.feedback.replace(
                Submission(
                    rid,
                    "rita",
                    "1.0.0",
                    "2026-01-02T00:00:00",
                    "2026-01-02",
                    "2026-W01",
                    3,
                    1,
                    1,
                    (right.skill_id,),
                    tuple(s.skill_id for s in wrong),
                )
            )


@pytest.fixture(scope="module")
def reviewed_home(tmp_path_factory, tiny_sentence_encoder_dir):
    """A home with 1.0.0 registered and `N_REVIEWS` reviewed texts."""
    root = tmp_path_factory.mktemp("reviewed")
    settings, warehouse, store = environment(root)
    taxonomy = small_taxonomy(N_SKILLS)
    write_taxonomy(warehouse, taxonomy)
    run_build(settings, warehouse, store, "manual", config=fast_config(tiny_sentence_encoder_dir))
    log_reviews(warehouse, taxonomy)
    warehouse.close()
    return root, taxonomy


@pytest.fixture
def home(reviewed_home, tmp_path):
    root, taxonomy = reviewed_home
    shutil.copytree(root / "home", tmp_path / "home")
    settings, warehouse, store = environment(tmp_path)
    yield settings, warehouse, store, taxonomy
    warehouse.close()


def test_a_calibration_build_is_a_patch_scored_on_the_reviewed_holdout(home, tiny_sentence_encoder_dir):
    settings, warehouse, store, taxonomy = home
    result = run_build(settings, warehouse, store, "calibrate", config=fast_config(tiny_sentence_encoder_dir))
    split = split_reviewed(reviewed_requests(warehouse, taxonomy))
    experiment = list_experiments(store)[0]
    evaluation = experiment["evaluation"]
    assert evaluation["set"] == REVIEWED_SET and evaluation["reviewed"] == N_REVIEWS
    assert (evaluation["train"], evaluation["holdout"]) == (len(split.train), len(split.holdout))
    assert store.exists(evaluation["key"])
    calibration = experiment["calibration"]
    assert calibration["n_examples"] == len(split.train) and not calibration["fell_back"]
    assert calibration["ranked_by"] == "the candidate"  # the base encoder's own weights
    assert experiment["primary_metric"] == "jaccard"
    assert result.comparison["contender"] > result.comparison["champion"], result.comparison
    assert (result.outcome, result.version, result.bump) == ("registered", "1.0.1", "patch")
    assert result.encoded_count == 0  # same weights, same taxonomy
    record = Registry(store).get("1.0.1")
    assert record["output_rule"] == calibration["rule"] and record["evaluation"] == evaluation
    served = json.loads((settings.home / "serving" / "dev" / "pipeline.json").read_text())
    assert OutputRule.from_dict(served["output_rule"]) == OutputRule.from_dict(calibration["rule"])
    card = store.get_bytes("model_cards/1.0.1.md").decode()
    assert "## Output rule (served)" in card and REVIEWED_SET in card


def test_retraining_sees_the_training_slice_only(home, tiny_sentence_encoder_dir):
    settings, warehouse, store, taxonomy = home
    result = run_build(
        settings,
        warehouse,
        store,
        "performance-drop",
        config=fast_config(tiny_sentence_encoder_dir, promotion_margin=1.0),
    )
    split = split_reviewed(reviewed_requests(warehouse, taxonomy))
    training = result.candidates[0]["training"]
    assert training["reviewed_texts"] == len(split.train) and training["steps"] > 0
    assert training["hard_negatives"] > 0  # the rejected skills
    assert training["hyperparameters"]["seed"] == 42
    assert training["hyperparameters"]["loss"].startswith("MultipleNegativesRankingLoss")
    assert result.outcome == "not-promoted" and result.bump == "minor"
    # the retrained candidate scores its training texts in-sample: its base encoder ranks them
    assert result.candidates[0]["calibration"]["ranked_by"] == f"base encoder {tiny_sentence_encoder_dir}"
    experiment = list_experiments(store)[0]
    assert experiment["evaluation"]["set"] == REVIEWED_SET
    assert set(experiment["champion"]["metrics"]) >= {"jaccard", "mrr", "r_precision@5", "f1"}


def test_a_fine_tuned_champion_is_calibrated_on_its_base_encoders_rankings(
    home, tiny_sentence_encoder_dir, monkeypatch
):
    """A champion retrained on the training slice ranks those texts in-sample too: recalibrating
    it (a patch of its weights) ranks them with the weights it was trained from; when those
    cannot be loaded the build still calibrates, on its own rankings, and records why."""
    settings, warehouse, store, _ = home
    retrained = run_build(
        settings,
        warehouse,
        store,
        "performance-drop",
        config=fast_config(tiny_sentence_encoder_dir, promotion_margin=0.0),
    )
    assert (retrained.outcome, retrained.version) == ("registered", "1.1.0")
    patch = run_build(settings, warehouse, store, "calibrate", config=fast_config(tiny_sentence_encoder_dir))
    assert patch.bump == "patch"
    calibration = list_experiments(store)[0]["calibration"]
    assert calibration["ranked_by"] == f"base encoder {tiny_sentence_encoder_dir}"
    assert calibration["n_examples"] > 0

    def unreachable(spec, *args, **kwargs):  # e.g. a hub id, offline
        if str(spec) == str(tiny_sentence_encoder_dir):
            raise EncoderError(f"cannot load encoder {spec!r}")
        return Encoder(spec, *args, **kwargs)

    monkeypatch.setattr(build_pipeline, "Encoder", unreachable)
    run_build(settings, warehouse, store, "calibrate", config=fast_config(tiny_sentence_encoder_dir))
    fallback = list_experiments(store)[0]["calibration"]["ranked_by"]
    assert fallback.startswith("the candidate (base encoder not loadable: cannot load encoder")
