"""The test gate's checks on a tiny-encoder pipeline (quality is not the point here)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlops.services.build.config import GateConfig
from mlops.services.build.gate import (
    DEFAULT_GOLDEN_DIR,
    GateReport,
    GoldenCase,
    LatencyMeasure,
    check_backend,
    check_edge_inputs,
    check_golden,
    check_metrics,
    check_self_match,
    edge_inputs,
    judge_latency,
    latency_text,
    load_golden,
    measure_latency,
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


def test_run_gate_reports_every_check_with_progress_before_each(tiny_pipeline):
    config = GateConfig(
        min_self_match=0.0, min_golden_recall=0.0, min_metrics={}, latency_max_ratio=1e6, latency_runs=2
    )
    seen = []
    report = run_gate(
        tiny_pipeline,
        list(tiny_pipeline.taxonomy)[:3],
        {},
        config,
        golden=[],
        progress=lambda f, m: seen.append((f, m)),
    )
    names = ["self_match", "golden", "edge_inputs", "metrics", "encoder_backend", "latency"]
    assert [c["name"] for c in report.checks] == names
    assert report.passed and report.to_dict()["reasons"] == []
    assert [f for f, _ in seen] == [i / len(names) for i in range(len(names))]
    assert seen[0][1] == "gate: self-match of 3 new or changed skills" and "2 runs" in seen[-1][1]


def test_run_gate_fails_on_the_absolute_latency_budget_when_one_is_set(tiny_pipeline):
    config = GateConfig(
        min_self_match=0.0, min_metrics={}, latency_budget_ms=1e-6, latency_max_ratio=1e6, latency_runs=1
    )
    report = run_gate(tiny_pipeline, [], {}, config, golden=[])
    assert not report.passed and report.reasons[0].startswith("latency:")


def test_run_gate_fails_when_the_pipeline_is_too_slow_for_the_raw_encoder(tiny_pipeline):
    config = GateConfig(min_self_match=0.0, min_metrics={}, latency_max_ratio=1e-6, latency_runs=1)
    report = run_gate(tiny_pipeline, [], {}, config, golden=[])
    latency = report.checks[-1]
    assert not report.passed and report.reasons[0].startswith("latency:")
    assert latency["ratio"] > 1e-6 and latency["raw_encoder_ms"] > 0 and latency["max_ratio"] == 1e-6


@pytest.mark.parametrize(
    "pipeline_ms, raw_ms, budget, passed",
    [
        (300.0, 100.0, None, True),  # boundary: exactly the maximum ratio passes
        (300.03, 100.0, None, False),  # just over it fails
        (10.0, 0.0, None, False),  # a raw encoder too fast to time: infinite ratio, fail
        (250.0, 100.0, 250.0, True),  # boundary: exactly the absolute budget passes
        (250.0, 100.0, 249.9, False),  # within the ratio, over the budget
        (5000.0, 2000.0, None, True),  # a loaded machine slows both alike: still passes
    ],
)
def test_latency_verdict_is_the_ratio_to_the_raw_encoder(pipeline_ms, raw_ms, budget, passed):
    report = GateReport()
    judge_latency(
        LatencyMeasure(pipeline_ms, raw_ms, 5),
        GateConfig(latency_max_ratio=3.0, latency_budget_ms=budget),
        250,
        report,
    )
    assert report.passed is passed
    assert report.checks[0]["raw_encoder_ms"] == round(raw_ms, 2)


def test_latency_is_measured_without_the_pipelines_phrase_cache(tiny_pipeline):
    before = tiny_pipeline.phrase_cache.stats()
    measure = measure_latency(tiny_pipeline, latency_text(30), runs=3)
    after = tiny_pipeline.phrase_cache.stats()
    assert measure.runs == 3 and measure.pipeline_ms > 0 and measure.raw_encoder_ms > 0
    assert (after.hits, after.misses) == (before.hits, before.misses)


def test_backend_check_passes_the_torch_model_itself(tiny_pipeline):
    report = GateReport()
    check_backend(tiny_pipeline, report)
    assert report.passed and report.checks[0]["backend"] == "torch"


def test_backend_check_passes_an_agreeing_onnx_export(tiny_sentence_encoder_dir, tmp_path):
    encoder = Encoder(tiny_sentence_encoder_dir, backend="onnx", export_dir=tmp_path / "onnx")
    report = GateReport()
    check_backend(Pipeline(encoder, small_taxonomy(5)), report)
    check = report.checks[0]
    assert report.passed and check["backend"] == "onnx" and check["mean_cosine"] >= 0.99


def test_backend_check_fails_an_export_that_disagrees_with_fp32(tiny_sentence_encoder_dir, tmp_path):
    encoder = Encoder(tiny_sentence_encoder_dir, backend="onnx", export_dir=tmp_path / "onnx")
    exact = encoder.encode

    def drifted(texts, batch_size=None, show_progress=False, fp32=False):
        rows = exact(texts, fp32=fp32)
        if fp32:
            return rows
        noisy = rows + np.random.default_rng(0).normal(0, 0.5, rows.shape).astype(np.float32)
        return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)

    encoder.encode = drifted  # type: ignore[method-assign]
    report = GateReport()
    check_backend(Pipeline(encoder, small_taxonomy(5)), report)
    assert not report.passed and "disagrees with the fp32 model" in report.reasons[0]
