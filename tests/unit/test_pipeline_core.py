"""The pipeline's output contract on a small taxonomy with the tiny encoder (fast)."""

from dataclasses import replace

import pytest

from sea_core.encoder import Encoder
from sea_core.output_set import SHIPPED_RULE
from sea_core.pipeline import Pipeline, PipelineConfig, request_id_for
from sea_core.taxonomy import Skill, Taxonomy
from sea_core.validation import ValidationError

RECORD_KEYS = {"modelVersion", "timestamp", "requestId", "original_input", "skillExtractOutput"}
SKILL_KEYS = {
    "skill_id",
    "skillTitle",
    "skillType",
    "proficiencyLevel",
    "confidenceScore",
    "skillTags",
    "phrase",
    "skillOccurrence",
}


@pytest.fixture(scope="module")
def small_pipeline(tiny_sentence_encoder_dir):
    skills = [
        Skill("python", tags=("Emerging TSC",), proficiency_levels=("3",)),
        Skill("data analysis", skill_type="tsc"),
        Skill("welding"),
        Skill("accounting"),
        Skill("project management", description="Plan and run projects."),
    ]
    # no folding: the tiny test encoder puts unrelated skills close together, and these tests
    # count suggestions (folding has its own tests in test_output_set and test_served_rule)
    config = PipelineConfig(output_rule=replace(SHIPPED_RULE, fold_similarity=0.0))
    return Pipeline(
        Encoder(tiny_sentence_encoder_dir), Taxonomy(skills), model_version="1.2.3", config=config
    )


def test_record_follows_production_log_format(small_pipeline):
    record = small_pipeline.extract("python and data analysis for welding", min_confidence=0)
    assert set(record) == RECORD_KEYS
    assert record["modelVersion"] == "1.2.3"
    assert record["original_input"] == "python and data analysis for welding"
    assert record["skillExtractOutput"], "some skills are returned at threshold 0"
    for skill in record["skillExtractOutput"]:
        assert SKILL_KEYS <= set(skill)
        assert isinstance(skill["skillTags"], list) and skill["skillOccurrence"] >= 1
    scores = [s["confidenceScore"] for s in record["skillExtractOutput"]]
    assert scores == sorted(scores, reverse=True)


def test_same_input_same_request_id(small_pipeline):
    a = small_pipeline.extract("welding")
    b = small_pipeline.extract("welding")
    assert a["requestId"] == b["requestId"] == request_id_for("welding")
    assert small_pipeline.extract("welding!")["requestId"] != a["requestId"]


def test_evidence_phrase_points_into_the_text(small_pipeline):
    text = "Experience in welding, python and accounting."
    for skill in small_pipeline.extract(text, min_confidence=0)["skillExtractOutput"]:
        if skill["phraseStart"] >= 0:
            assert text[skill["phraseStart"] : skill["phraseEnd"]] == skill["phrase"]
        else:
            assert skill["phrase"] == "full text"


def test_top_k_boundaries(small_pipeline):
    text = "python data analysis welding accounting project management"
    assert len(small_pipeline.extract(text, top_k=1, min_confidence=0)["skillExtractOutput"]) == 1
    assert small_pipeline.extract(text, top_k=0, min_confidence=0)["skillExtractOutput"] == []
    assert len(small_pipeline.extract(text, top_k=99, min_confidence=0)["skillExtractOutput"]) == 5
    with pytest.raises(ValueError, match="top_k"):
        small_pipeline.extract(text, top_k=-1)


def test_threshold_equality_is_inclusive(small_pipeline):
    text = "python data analysis"
    ranked = small_pipeline.rank(text, k=5)
    score = ranked[1][1]
    kept = small_pipeline.extract(text, min_confidence=score)["skillExtractOutput"]
    assert ranked[1][0] in [s["skill_id"] for s in kept]
    above = small_pipeline.extract(text, min_confidence=score + 1e-6)["skillExtractOutput"]
    assert ranked[1][0] not in [s["skill_id"] for s in above]


def test_single_proficiency_level_is_reported(small_pipeline):
    out = small_pipeline.extract("python", min_confidence=0, top_k=5)["skillExtractOutput"]
    python = next(s for s in out if s["skillTitle"] == "python")
    assert python["proficiencyLevel"] == "3" and python["skillTags"] == ["Emerging TSC"]


@pytest.mark.parametrize("text", ["", "   ", None])
def test_bad_text_is_a_validation_error(small_pipeline, text):
    with pytest.raises(ValidationError):
        small_pipeline.extract(text)


def test_over_long_text_rejected_at_limit_plus_one(tiny_sentence_encoder_dir):
    pipeline = Pipeline(
        Encoder(tiny_sentence_encoder_dir),
        Taxonomy([Skill("python")]),
        config=PipelineConfig(max_text_chars=50),
    )
    assert pipeline.extract("python " * 7 + "x")["requestId"]  # 50 characters
    with pytest.raises(ValidationError, match="limit is 50"):
        pipeline.extract("python " * 7 + "xy")


def test_one_million_characters_rejected_before_any_work(small_pipeline):
    with pytest.raises(ValidationError, match="1,000,000"):
        small_pipeline.extract("a" * 1_000_000)


@pytest.mark.parametrize(
    "text", ["🚀🚀🚀", "<script>alert(1)</script> python", "Gestión de proyectos", "数据分析", "a"]
)
def test_edge_inputs_do_not_crash(small_pipeline, text):
    record = small_pipeline.extract(text, min_confidence=0)
    assert record["original_input"] == text


def test_empty_taxonomy_gives_no_skills(tiny_sentence_encoder_dir):
    pipeline = Pipeline(Encoder(tiny_sentence_encoder_dir), Taxonomy([]))
    assert pipeline.extract("python", min_confidence=0)["skillExtractOutput"] == []


def test_one_skill_taxonomy(tiny_sentence_encoder_dir):
    pipeline = Pipeline(Encoder(tiny_sentence_encoder_dir), Taxonomy([Skill("python")]))
    out = pipeline.extract("we use python daily", min_confidence=0)["skillExtractOutput"]
    assert [s["skillTitle"] for s in out] == ["python"]


def test_batch_keeps_order(small_pipeline):
    texts = ["welding", "python", "accounting"]
    assert [r["original_input"] for r in small_pipeline.extract_batch(texts)] == texts
