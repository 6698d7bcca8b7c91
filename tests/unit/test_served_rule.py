"""The served output rule: `PipelineConfig.output_rule` from pipeline.json, the rule equivalent
to an old bundle's settings, and the pipeline applying it (folded alternatives in the record)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sea_core.bundle import BundleError, bundle_config, pipeline_config
from sea_core.matching import Candidate, MatchConfig
from sea_core.output_set import SHIPPED_RULE, OutputRule
from sea_core.pipeline import Pipeline, PipelineConfig
from sea_core.taxonomy import Skill, Taxonomy


def test_an_old_bundle_serves_the_fixed_cap_rule_of_its_settings():
    settings = {"top_k": 4, "min_confidence": 0.5, "match": {"relative_margin": 0.1}}
    assert pipeline_config(settings).output_rule is None
    config = bundle_config(settings)
    assert config.rule == OutputRule(min_confidence=0.5, relative_margin=0.1, max_skills=4)
    assert config.rule.cap(1000) == 4  # no growth with the text: what the bundle served
    assert bundle_config({}).rule == OutputRule()


def test_settings_without_a_rule_serve_the_shipped_rule_with_its_long_text_cap():
    assert pipeline_config({}).rule == SHIPPED_RULE
    assert SHIPPED_RULE.cap(1000) == int(10 * SHIPPED_RULE.skills_per_100_words)


def test_a_recorded_rule_is_served():
    rule = OutputRule(0.6, 0.02, 3, 1, 0.85)
    config = pipeline_config({"top_k": 10, "output_rule": rule.to_dict()})
    assert config.output_rule == rule and config.rule == rule


def test_a_bad_recorded_rule_is_a_bundle_error():
    with pytest.raises(BundleError, match="output rule"):
        pipeline_config({"output_rule": {"threshold": 0.5}})


class _Encoder:
    """Stands in for the encoder: every text the same unit vector."""

    fingerprint = "fake"
    path = "fake"

    def encode(self, texts):
        return np.tile(np.array([1.0, 0.0, 0.0]), (len(texts), 1))


class _Index:
    def __init__(self, taxonomy):
        self.skill_ids = taxonomy.skill_ids
        self.matrix = np.array([[1.0, 0.0, 0.0], [0.99, 0.141, 0.0], [0.0, 1.0, 0.0]])


def _pipeline(rule: OutputRule | None) -> Pipeline:
    taxonomy = Taxonomy(
        [
            Skill(title=t, skill_type="skill", source="test")
            for t in ("data analysis", "analyse data", "gardening")
        ],
        version="t",
    )
    config = PipelineConfig(match=MatchConfig(), output_rule=rule)
    return Pipeline(_Encoder(), taxonomy, _Index(taxonomy), config=config)


def test_the_pipeline_cuts_with_the_served_rule_and_reports_folded_alternatives():
    cands = [
        Candidate(row=0, confidence=0.9, phrase="data", phrase_start=0, phrase_end=4),
        Candidate(row=1, confidence=0.89, phrase="data", phrase_start=0, phrase_end=4),
        Candidate(row=2, confidence=0.5, phrase="data", phrase_start=0, phrase_end=4),
    ]
    unfolded = _pipeline(replace(SHIPPED_RULE, fold_similarity=0.0))
    assert [c.row for c in unfolded.select("data", cands)] == [0, 1]  # the shipped rule's margin
    (shipped,) = _pipeline(None).suggestions("data", cands)  # the shipped rule folds at 0.75
    assert shipped.candidate.row == 0 and [a.row for a in shipped.alternatives] == [1]
    folding = _pipeline(OutputRule(0.45, 0.06, 10, 0, 0.9))
    (only,) = folding.suggestions("data", cands)
    assert only.candidate.row == 0 and [a.row for a in only.alternatives] == [1]
    record = folding._skill_record(only.candidate, "data", only.alternatives)
    assert record["phrase"] == "data"
    assert [a["skillTitle"] for a in record["alternatives"]] == ["analyse data"]
    assert [c.row for c in folding.select("data", cands, top_k=0)] == []
    assert [c.row for c in folding.select("data", cands, min_confidence=0)] == [0, 1, 2]  # plain ranking


def test_a_top_k_asked_for_is_the_cap_whatever_the_length():
    text = " ".join(["data"] * 400)
    cands = [Candidate(row=r, confidence=0.9, phrase="data", phrase_start=0, phrase_end=4) for r in range(3)]
    pipeline = _pipeline(replace(SHIPPED_RULE, fold_similarity=0.0))  # rows 0 and 1 would fold
    assert pipeline.rule_for().cap(400) == 24  # the shipped growth: 6 per 100 words
    assert pipeline.rule_for(top_k=2).cap(400) == 2
    assert [c.row for c in pipeline.select(text, cands, top_k=2)] == [0, 1]


def test_a_served_acceptance_model_cuts_and_a_threshold_asked_for_replaces_it():
    from sea_core.acceptance import AcceptanceModel

    only_the_phrase_less = AcceptanceModel(("has_span", "confidence"), (-20.0, 0.0), 10.0)
    cands = [
        Candidate(row=0, confidence=0.9, phrase="data", phrase_start=0, phrase_end=4),
        Candidate(row=2, confidence=0.6),  # a whole-text candidate
    ]
    rule = OutputRule(acceptance=only_the_phrase_less)
    pipeline = _pipeline(rule)
    served = pipeline_config({"output_rule": rule.to_dict()}).rule
    assert served == rule  # stored and read back with its model
    assert [c.row for c in pipeline.select("data", cands)] == [2]  # the model's cut, not the threshold's
    assert [c.row for c in pipeline.select("data", cands, top_k=1)] == [2]  # a cap keeps the model
    assert [c.row for c in pipeline.select("data", cands, min_confidence=0.5)] == [0]  # a threshold: no model
