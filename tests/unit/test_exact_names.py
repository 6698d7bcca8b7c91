"""Skill names: ESCO alt-label boundaries recovered, exact-name index, the exact-name bonus in
matching, legacy bundle settings and the previous matcher in evaluation."""

from dataclasses import asdict

import numpy as np
import pytest

from sea_core.evaluate import BenchmarkItem, evaluate
from sea_core.labels import ExactNames, name_key, skill_names, write_prebuilt_labels
from sea_core.matching import (
    MatchConfig,
    RerankSettings,
    late_interaction_reranker,
    previous_matcher,
    rank_candidates,
    span_similarities,
)
from sea_core.pipeline import Pipeline
from sea_core.spans import Span
from sea_core.taxonomy import Skill, Taxonomy
from sea_core.taxonomy.label_split import BoundaryModel, LabelSplitter

TITLES = [
    "operate forklift",
    "manage payroll",
    "prepare financial statements",
    "weld pipes",
    "monitor patients",
    "operate crane",
    "manage budgets",
    "prepare reports",
]
RUN_LABELS = [
    ["drive forklift", "use forklift truck", "operate lift truck"],
    ["handle payroll", "administer salaries"],
    ["draw up financial statements", "compile financial statements"],
    ["join pipes", "weld tubes"],
    ["observe patients", "watch patients' condition"],
    ["drive crane", "use tower crane"],
    ["handle budgets", "administer budget"],
    ["draw up reports", "compile report"],
]


def esco(title, labels):
    return Skill(title=title, alt_labels=(" ".join(labels),), source="esco")


# --- LabelSplitter ------------------------------------------------------------------------


def test_splitter_recovers_most_joined_labels_of_a_small_taxonomy():
    runs = [" ".join(labels) for labels in RUN_LABELS]
    splitter = LabelSplitter.fit(TITLES, runs)
    cuts = [splitter.split(run, title) for title, run in zip(TITLES, runs)]
    assert all(" ".join(cut) == run for cut, run in zip(cuts, runs))
    assert sum(cut == labels for cut, labels in zip(cuts, RUN_LABELS)) >= 6


def test_prebuilt_cuts_of_the_bundled_esco():
    from sea_core.labels import _load_prebuilt

    cuts = _load_prebuilt()
    assert len(cuts) > 12_000
    assert cuts[
        "manage staff of music coordinate duties of musical staff manage music staff direct musical staff"
    ] == [
        "manage staff of music",
        "coordinate duties of musical staff",
        "manage music staff",
        "direct musical staff",
    ]


def test_splitter_edge_cases():
    splitter = LabelSplitter(BoundaryModel.estimate([t.split() for t in TITLES]))
    assert splitter.split("", "operate forklift") == []
    assert splitter.split("forklift") == ["forklift"]
    long_run = " ".join(["word"] * 30)
    cut = splitter.split(long_run)
    assert " ".join(cut) == long_run and all(len(c.split()) <= 12 for c in cut)


def test_boundary_model_of_nothing_has_defaults():
    model = BoundaryModel.estimate([])
    assert model.starts == {} and 0 < model.default_start <= 1 and len(model.length_log_prob) == 12


# --- names and the exact-name index -------------------------------------------------------


def test_name_key_ignores_case_function_words_and_plural():
    assert name_key("Use SQL databases") == name_key("sql database") == frozenset({"sql", "database"})
    assert name_key("the of and") == frozenset()
    assert name_key("class") == frozenset({"class"})  # -ss is not a plural


@pytest.mark.parametrize(
    "invisible", ["\u00ad", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff"]
)
def test_name_key_does_not_see_invisible_format_characters(invisible):
    assert name_key(f"Py{invisible}thon") == frozenset({"python"})
    assert name_key(f"{invisible}SQL{invisible}") == frozenset({"sql"})


def test_name_key_still_splits_at_visible_separators():
    assert name_key("Py thon") == frozenset({"py", "thon"})
    assert name_key("Py\u00a0thon") == frozenset({"py", "thon"})  # a no-break space is a space


def test_skill_names_cut_esco_runs_and_keep_other_labels_apart():
    skills = [esco(t, labels) for t, labels in zip(TITLES, RUN_LABELS)]
    skills.append(Skill(title="Python", alt_labels=("python programming language", "Python"), source="sfw"))
    names = skill_names(Taxonomy(skills), prebuilt={})
    assert names[1] == ["manage payroll", *RUN_LABELS[1]]
    assert names[-1] == ["Python", "python programming language"]  # duplicate of the title dropped


def test_skill_names_use_prebuilt_cuts(tmp_path):
    skills = [esco(t, labels) for t, labels in zip(TITLES, RUN_LABELS)]
    run = " ".join(RUN_LABELS[0])
    names = skill_names(Taxonomy(skills), prebuilt={run: ["drive forklift use", "forklift truck"]})
    assert names[0] == ["operate forklift", "drive forklift use", "forklift truck"]


def test_write_prebuilt_labels_round_trip(tmp_path):
    import gzip
    import json

    taxonomy = Taxonomy([esco(t, labels) for t, labels in zip(TITLES, RUN_LABELS)])
    path = tmp_path / "labels.json.gz"
    assert write_prebuilt_labels(taxonomy, path) == len(TITLES)
    cuts = json.loads(gzip.decompress(path.read_bytes()))
    assert cuts[" ".join(RUN_LABELS[1])] == RUN_LABELS[1]


def test_exact_names_index():
    index = ExactNames.build([["SQL", "structured query language"], ["MySQL"], ["use SQL"], []])
    assert index.rows("sql") == (0, 2)
    assert index.rows("Structured Query Languages") == (0,)
    assert index.rows("postgres") == ()
    assert index.rows("the") == ()


# --- matching -----------------------------------------------------------------------------


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


SKILLS = np.stack([unit([1, 0, 0]), unit([0, 1, 0]), unit([0, 0, 1])])
SPAN = [Span("sql", 0, 3)]


def test_exact_name_bonus_lifts_the_named_skill():
    vectors = unit([0.8, 0.75, 0.3])[None, :]  # a little closer to row 0 than to row 1
    config = MatchConfig(exact_name_bonus=0.2)
    plain = rank_candidates(SPAN, vectors, vectors[0], SKILLS, config)
    boosted = rank_candidates(SPAN, vectors, vectors[0], SKILLS, config, exact_rows=[(1,)])
    assert plain[0].row == 0 and boosted[0].row == 1
    assert boosted[0].span_similarity == pytest.approx(float(SKILLS[1] @ vectors[0]) + 0.2)


def test_exact_name_bonus_is_capped_and_off_when_zero():
    vectors = SKILLS[:1]
    capped = rank_candidates(
        SPAN, vectors, vectors[0], SKILLS, MatchConfig(exact_name_bonus=0.5), exact_rows=[(0,)]
    )
    assert capped[0].span_similarity == pytest.approx(1.0)
    off = rank_candidates(
        SPAN, vectors, vectors[0], SKILLS, MatchConfig(exact_name_bonus=0.0), exact_rows=[(2,)]
    )
    none = rank_candidates(SPAN, vectors, vectors[0], SKILLS, MatchConfig(exact_name_bonus=0.0))
    assert [(c.row, c.confidence) for c in off] == [(c.row, c.confidence) for c in none]


def test_bundle_settings_without_the_knob_keep_the_old_matcher():
    assert MatchConfig.from_settings({}).exact_name_bonus == 0.0
    old = MatchConfig(span_top_n=7, text_top_n=10, exact_name_bonus=0.0, rerank=RerankSettings())
    assert MatchConfig.from_settings({"span_top_n": 7}) == old
    current = MatchConfig()
    assert current.exact_name_bonus > 0
    assert MatchConfig.from_settings(asdict(current)) == current
    # matcher 4 -> 3 (late interaction over the top 20 of the narrower pool) -> 2 -> 1
    third = previous_matcher(current)
    assert third == MatchConfig(text_top_n=10, rerank=late_interaction_reranker(depth=20))
    assert previous_matcher(third) == MatchConfig(text_top_n=10, rerank=RerankSettings())
    assert previous_matcher(previous_matcher(third)) == MatchConfig(
        text_top_n=10, exact_name_bonus=0.0, rerank=RerankSettings()
    )
    assert previous_matcher(old) == old  # the first matcher has none before it


# --- pipeline and evaluation --------------------------------------------------------------


def test_pipeline_uses_exact_names_and_evaluate_reports_previous_matcher(tiny_sentence_encoder_dir):
    from sea_core.encoder import Encoder

    taxonomy = Taxonomy(
        [Skill("sql", alt_labels=("structured query language",)), Skill("python"), Skill("welding")]
    )
    pipeline = Pipeline(Encoder(tiny_sentence_encoder_dir), taxonomy)
    ranked = pipeline.with_match(MatchConfig(exact_name_bonus=0.3)).rank("structured query language", k=1)
    assert ranked[0][0] == taxonomy[0].skill_id
    items = [BenchmarkItem("we write sql", frozenset({taxonomy[0].skill_id}))]
    result = evaluate(pipeline, items, compare_previous=True)
    assert set(result) == {"pipeline", "previous_pipeline", "bi_encoder_baseline"}
    assert set(evaluate(pipeline, items)) == {"pipeline", "bi_encoder_baseline"}  # builds: no extra cost
    legacy = pipeline.with_match(previous_matcher(previous_matcher(pipeline.config.match)))
    assert set(evaluate(legacy, items, compare_previous=True)) == {
        "pipeline",
        "previous_pipeline",
        "reranked_pipeline",
        "late_interaction_pipeline",
        "bi_encoder_baseline",
    }


def test_cli_evaluate_reports_the_previous_matcher(tmp_path, capsys, monkeypatch, tiny_sentence_encoder_dir):
    import json

    from sea_core.cli import main

    monkeypatch.setenv("SEA_CACHE", str(tmp_path / "cache"))
    taxonomy = tmp_path / "skills.csv"
    taxonomy.write_text(
        "title,type,description\npython,skill,Python programming\nwelding,skill,Join metals\n",
        encoding="utf-8",
    )
    data = tmp_path / "bench.csv"
    data.write_text("sentence,span,sub_span,label\nwe weld pipes,weld,,welding\n", encoding="utf-8")
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(data),
                "--taxonomy",
                str(taxonomy),
                "--model",
                str(tiny_sentence_encoder_dir),
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["previous_pipeline"]["sentences"] == result["pipeline"]["sentences"] == 1


def test_span_similarities_add_the_capped_bonus_only_where_a_span_names_the_skill():
    vectors = unit([0.8, 0.75, 0.3])[None, :]
    plain = span_similarities(SPAN, vectors, SKILLS, MatchConfig(exact_name_bonus=0.2))
    boosted = span_similarities(SPAN, vectors, SKILLS, MatchConfig(exact_name_bonus=0.2), [(1,)])
    assert plain == pytest.approx(vectors @ SKILLS.T)
    assert boosted[0, 1] == pytest.approx(plain[0, 1] + 0.2)
    assert boosted[0, [0, 2]] == pytest.approx(plain[0, [0, 2]])
    capped = span_similarities(SPAN, SKILLS[:1], SKILLS, MatchConfig(exact_name_bonus=0.5), [(0,)])
    assert capped[0, 0] == pytest.approx(1.0)


def test_span_similarities_of_no_spans_is_an_empty_row_block():
    out = span_similarities([], np.zeros((0, 3)), SKILLS, MatchConfig(), [])
    assert out.shape == (0, 3)
