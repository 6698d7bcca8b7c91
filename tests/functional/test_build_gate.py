"""The test gate with the real default encoder: new ESCO skills map to themselves in their own
top 3, the golden job descriptions yield their expected skills, edge inputs do not crash, and a
broken model (its skills' vectors scrambled) is stopped by the gate."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mlops.services.build.config import GateConfig, load_build_config
from mlops.services.build.gate import load_golden, run_gate
from sea_core.embeddings import TaxonomyIndex
from sea_core.pipeline import Pipeline, PipelineConfig
from sea_core.taxonomy import Taxonomy

pytestmark = pytest.mark.slow

#: Real ESCO skills treated as "new" in the self-match check.
NEW_SKILL_TITLES = (
    "manage budgets",
    "operate forklift",
    "perform data analysis",
    "recruit employees",
    "prepare lesson content",
    "SQL",
)


@pytest.fixture(scope="module")
def gate_taxonomy(esco_taxonomy) -> Taxonomy:
    """The golden skills and the new skills plus 400 other ESCO skills."""
    wanted = {t.lower() for case in load_golden() for t in case.expected}
    wanted |= {t.lower() for t in NEW_SKILL_TITLES}
    chosen = [s for s in esco_taxonomy if s.title.lower() in wanted]
    others = [s for s in esco_taxonomy if s.title.lower() not in wanted][:400]
    return Taxonomy([*chosen, *others], version="gate-test")


@pytest.fixture(scope="module")
def real_pipeline(default_encoder, gate_taxonomy, tmp_path_factory) -> Pipeline:
    return Pipeline(
        default_encoder,
        gate_taxonomy,
        config=PipelineConfig(max_text_chars=3_000),
        embeddings_dir=tmp_path_factory.mktemp("gate_embeddings"),
    )


@pytest.fixture(scope="module")
def default_gate() -> GateConfig:
    """The shipped gate thresholds (defaults.json), with the latency limits lifted: speed is
    measured by benchmarks, not asserted by tests (the latency check's verdict is unit-tested)."""
    return replace(
        load_build_config().gate, latency_budget_ms=3_600_000.0, latency_max_ratio=1e6, latency_runs=1
    )


def _new_skills(taxonomy: Taxonomy):
    by_title = {s.title.lower(): s for s in taxonomy}
    return [by_title[t.lower()] for t in NEW_SKILL_TITLES]


def test_golden_files_name_real_esco_skills(esco_taxonomy):
    titles = {s.title.lower() for s in esco_taxonomy}
    for case in load_golden():
        missing = [t for t in case.expected if t.lower() not in titles]
        assert not missing, f"{case.name}: {missing}"


def test_real_encoder_passes_the_default_gate(real_pipeline, default_gate):
    report = run_gate(
        real_pipeline, _new_skills(real_pipeline.taxonomy), {"cosine_accuracy": 0.9}, default_gate
    )
    checks = {c["name"]: c for c in report.checks}
    assert checks["self_match"]["checked"] == len(NEW_SKILL_TITLES)
    assert checks["self_match"]["share"] == 1.0, checks["self_match"]["misses"]
    assert checks["golden"]["recall"] >= default_gate.min_golden_recall
    assert checks["edge_inputs"]["passed"], checks["edge_inputs"]["failures"]
    assert report.passed, report.reasons


def test_each_new_skill_is_in_its_own_top_3(real_pipeline):
    for skill in _new_skills(real_pipeline.taxonomy):
        text = f"{skill.title}. {skill.description}"
        assert skill.skill_id in [sid for sid, _ in real_pipeline.rank(text, 3)], skill.title


def test_scrambled_embeddings_fail_the_gate(real_pipeline, default_gate):
    """A model whose skill vectors no longer match their skills is stopped."""
    index = real_pipeline.index
    rng = np.random.default_rng(0)
    scrambled = TaxonomyIndex(
        index.skill_ids,
        index.matrix[rng.permutation(len(index.skill_ids))],
        index.encoder_fingerprint,
        index.taxonomy_checksum,
    )
    broken = Pipeline(real_pipeline.encoder, real_pipeline.taxonomy, scrambled, config=real_pipeline.config)
    report = run_gate(
        broken,
        _new_skills(real_pipeline.taxonomy),
        {"cosine_accuracy": 0.9},
        replace(default_gate, latency_words=5),
    )
    assert not report.passed
    failed = {c["name"] for c in report.checks if not c["passed"]}
    assert {"self_match", "golden"} <= failed
