"""The test gate's checks on a tiny-encoder pipeline (quality is not the point here)."""

from __future__ import annotations

import json

import pytest

from mlops.services.build.config import GateConfig
from mlops.services.build.gate import (
    DEFAULT_GOLDEN_DIR,
    GateReport,
    GoldenCase,
    check_edge_inputs,
    check_golden,
    check_metrics,
    check_self_match,
    edge_inputs,
    latency_text,
    load_golden,
    run_gate,
    self_text,
)
from sea_core.encoder import Encoder
from sea_core.pipeline import Pipeline, PipelineConfig
from sea_core.taxonomy import Skill
from tests.unit.build_support import small_taxonomy


@pytest.fixture(scope="module")
def tiny_pipeline(tiny_sentence_encoder_dir):
    return Pipeline(
        Encoder(tiny_sentence_encoder_dir, device="cpu"),
        small_taxonomy(30),
        config=PipelineConfig(max_text_chars=2000),
    )


def test_repository_golden_files_are_valid():
    cases = load_golden()
    assert len(cases) >= 5
    assert all(case.expected and len(case.text.split()) > 10 for case in cases)
    assert DEFAULT_GOLDEN_DIR.name == "golden"


def test_golden_from_a_missing_folder_is_empty(tmp_path):
    assert load_golden(tmp_path / "absent") == []


@pytest.mark.parametrize(
    "doc",
    [
        {"text": "x"},
        {"text": "", "expected": ["a"]},
        {"text": "x", "expected": "a"},
        {"text": "x", "expected": [""]},
    ],
)
def test_malformed_golden_file_is_named(tmp_path, doc):
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="bad.json"):
        load_golden(tmp_path)


def test_self_text_is_title_and_description():
    assert self_text(Skill("sql", description="query databases")) == "sql. query databases"
    assert self_text(Skill("sql")) == "sql"


def test_self_match_with_no_changed_skills_passes(tiny_pipeline):
    report = GateReport()
    check_self_match(tiny_pipeline, [], GateConfig(), report)
    assert report.passed and report.checks[0]["checked"] == 0


def test_self_match_samples_at_most_max_checks(tiny_pipeline):
    report = GateReport()
    check_self_match(
        tiny_pipeline,
        list(tiny_pipeline.taxonomy)[:10],
        GateConfig(max_self_checks=4, min_self_match=0.0),
        report,
    )
    assert report.checks[0]["checked"] == 4 and report.checks[0]["of"] == 10


def test_self_match_fails_for_a_skill_missing_from_the_index(tiny_pipeline):
    report = GateReport()
    absent = Skill("underwater origami", description="fold paper under water")
    check_self_match(tiny_pipeline, [absent], GateConfig(min_self_match=1.0), report)
    assert not report.passed
    assert report.checks[0]["misses"] == ["underwater origami"]
    assert report.reasons[0].startswith("self_match: 0/1")


def test_golden_skipped_when_no_expected_skill_is_in_the_taxonomy(tiny_pipeline):
    report = GateReport()
    check_golden(tiny_pipeline, [GoldenCase("x", "some text", ("not a skill here",))], GateConfig(), report)
    assert report.passed and "skipped" in report.checks[0]["detail"]


def test_golden_recall_bound(tiny_pipeline):
    title = tiny_pipeline.taxonomy[0].title
    cases = [GoldenCase("own-title", title, (title,))]
    strict, lenient = GateReport(), GateReport()
    check_golden(tiny_pipeline, cases, GateConfig(golden_top_k=30, min_golden_recall=1.0), strict)
    check_golden(tiny_pipeline, cases, GateConfig(golden_top_k=30, min_golden_recall=0.0), lenient)
    assert strict.checks[0]["recall"] == 1.0 and strict.passed and lenient.passed


def test_edge_inputs_cover_emoji_html_one_word_and_exact_max_length():
    inputs = edge_inputs(500)
    assert set(inputs) == {"emoji", "html", "one_word", "max_length"}
    assert len(inputs["max_length"]) == 500
    assert len(inputs["one_word"].split()) == 1


def test_edge_inputs_pass_on_a_working_pipeline(tiny_pipeline):
    report = GateReport()
    check_edge_inputs(tiny_pipeline, report)
    assert report.passed, report.reasons


def test_edge_inputs_report_a_crash(tiny_pipeline, monkeypatch):
    def broken(text, *args, **kwargs):
        if "<div>" in text:
            raise RuntimeError("boom")
        return {"skillExtractOutput": []}

    monkeypatch.setattr(tiny_pipeline, "extract", broken)
    report = GateReport()
    check_edge_inputs(tiny_pipeline, report)
    assert not report.passed and "html" in report.checks[0]["failures"]


@pytest.mark.parametrize(
    "metrics, passed",
    [
        ({"cosine_accuracy": 0.6}, True),  # boundary: equal to the minimum passes
        ({"cosine_accuracy": 0.5999}, False),
        ({}, False),  # a missing metric fails
    ],
)
def test_metric_minima(metrics, passed):
    report = GateReport()
    check_metrics(metrics, GateConfig(min_metrics={"cosine_accuracy": 0.6}), report)
    assert report.passed is passed


def test_latency_text_has_exactly_the_words():
    assert len(latency_text(250).split()) == 250
    assert len(latency_text(1).split()) == 1


def test_run_gate_reports_every_check(tiny_pipeline):
    config = GateConfig(min_self_match=0.0, min_golden_recall=0.0, min_metrics={}, latency_budget_ms=60_000)
    report = run_gate(tiny_pipeline, list(tiny_pipeline.taxonomy)[:3], {}, config, golden=[])
    assert [c["name"] for c in report.checks] == ["self_match", "golden", "edge_inputs", "metrics", "latency"]
    assert report.passed and report.to_dict()["reasons"] == []


def test_run_gate_fails_on_the_latency_budget(tiny_pipeline):
    config = GateConfig(min_self_match=0.0, min_metrics={}, latency_budget_ms=1e-6)
    report = run_gate(tiny_pipeline, [], {}, config, golden=[])
    assert not report.passed and report.reasons[0].startswith("latency:")
