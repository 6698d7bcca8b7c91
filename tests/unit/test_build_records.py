"""Experiment records and model cards."""

from __future__ import annotations

import json

import pytest

from mlops.adapters.store import open_store
from mlops.services.build.experiments import list_experiments, new_experiment_id, write_experiment
from mlops.services.build.model_card import model_card_key, render_model_card


@pytest.fixture
def store(tmp_path):
    return open_store((tmp_path / "store").as_uri())


def test_experiment_ids_are_unique_and_keyed_by_time():
    (a, key_a), (b, _) = new_experiment_id(), new_experiment_id()
    assert a != b
    assert key_a == f"experiments/{a}.json" and a[:8].isdigit() and a[8] == "T"


@pytest.mark.parametrize("outcome", ["registered", "not-promoted", "gate-failed", "failed"])
def test_every_outcome_is_recorded(store, outcome):
    _, key = new_experiment_id()
    write_experiment(store, key, {"outcome": outcome, "metrics": {"cosine_f1": 0.5}})
    assert json.loads(store.get_bytes(key))["outcome"] == outcome


def test_unknown_outcome_is_refused(store):
    with pytest.raises(ValueError, match="outcome"):
        write_experiment(store, "experiments/x.json", {"outcome": "maybe"})
    assert not store.exists("experiments/x.json")


def test_experiments_of_one_second_list_in_the_order_they_started(store):
    """Regression: the stamp had whole seconds, so a build started in the same second as the
    one before it listed before or after it by its random id (a flaky build test)."""
    keys = [new_experiment_id()[1] for _ in range(20)]
    for n, key in enumerate(keys):
        write_experiment(store, key, {"outcome": "registered", "n": n})
    assert [e["n"] for e in list_experiments(store)] == list(range(19, -1, -1))
    old_style = "experiments/20260101T000000Z-ffffffffffff.json"
    write_experiment(store, old_style, {"outcome": "failed", "n": -1})
    assert list_experiments(store)[-1]["n"] == -1  # an older whole-second key stays older


def test_list_experiments_newest_first(store):
    write_experiment(store, "experiments/20260101T000000Z-a.json", {"outcome": "failed", "n": 1})
    write_experiment(store, "experiments/20260201T000000Z-b.json", {"outcome": "registered", "n": 2})
    assert [e["n"] for e in list_experiments(store)] == [2, 1]
    assert [e["n"] for e in list_experiments(store, limit=1)] == [2]


def test_no_experiments_is_an_empty_list(store):
    assert list_experiments(store) == []


def test_model_card_sections_and_comparison():
    record = {
        "trigger": "manual",
        "taxonomy_version": "t1",
        "metrics": {"cosine_f1": 0.9},
        "hyperparameters": {"loss": "CosineSimilarityLoss"},
        "data_version": "1.1.0",
        "data_checksum": "abc",
        "parent_version": "1.0.0",
    }
    experiment = {
        "bump": "minor",
        "primary_metric": "cosine_f1",
        "promotion_margin": 0.0,
        "champion": {"version": "1.0.0", "metrics": {"cosine_f1": 0.8}},
        "comparison": {"reason": "contender beats champion"},
        "candidates": [
            {"encoder": "a", "start": "base encoder", "metrics": {"cosine_f1": 0.9}, "chosen": True},
            {"encoder": "b", "start": "base encoder", "metrics": {"cosine_f1": 0.7}},
        ],
        "gate": {"checks": [{"name": "latency", "passed": True, "detail": "12 ms"}]},
    }
    card = render_model_card("1.1.0", record, experiment)
    for heading in (
        "## Intended use",
        "## Training data",
        "## Known limitations",
        "## Responsible-AI notes",
        "## Why this candidate",
        "## Test gate",
    ):
        assert heading in card
    assert "| cosine_f1 | 0.9000 | 0.8000 |" in card
    assert "`a` (base encoder): cosine_f1 = 0.9000 — chosen" in card
    assert "data version 1.1.0" in card
    assert model_card_key("1.1.0") == "model_cards/1.1.0.md"


def test_the_model_card_names_an_acceptance_model_by_its_largest_weights():
    from sea_core.acceptance import AcceptanceModel
    from sea_core.output_set import OutputRule

    model = AcceptanceModel(("confidence", "position", "has_span"), (4.0, -6.5, 0.1), -1.0)
    rule = OutputRule(acceptance=model).to_dict()
    record = {
        "output_rule": rule,
        "calibration": {"reason": "acceptance fitted", "ranked_by": "champion 1.0.0"},
    }
    card = render_model_card("1.1.0", record, {"candidates": []})
    assert (
        "acceptance model of 3 features (largest weights: position -6.50, confidence +4.00, has_span +0.10"
        in card
    )
    assert "'weights'" not in card  # not the raw record
    assert "ranked by champion 1.0.0: acceptance fitted" in card
    plain = render_model_card("1.0.0", {"output_rule": OutputRule().to_dict()}, {"candidates": []})
    assert "acceptance model" not in plain and "ranked by the candidate" in plain
    odd = render_model_card("1.0.0", {"output_rule": {"threshold": 1}}, {"candidates": []})
    assert "threshold 1" in odd  # a rule this code cannot read is shown as recorded
