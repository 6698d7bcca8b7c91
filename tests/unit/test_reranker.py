"""The learned re-ranker: BM25 over skill names, candidate features, the pairwise fit, re-scoring,
label vectors cached per (encoder, taxonomy), settings in bundles (old bundles keep theirs)."""

from dataclasses import asdict, replace

import numpy as np
import pytest

from sea_core.labels import exact_names, label_vectors, skill_names
from sea_core.lexical import BM25
from sea_core.matching import (
    Candidate,
    MatchConfig,
    RerankSettings,
    dev_reranker,
    late_interaction_reranker,
    previous_matcher,
)
from sea_core.pipeline import Pipeline
from sea_core.reranker import (
    FEATURES,
    RerankContext,
    candidate_features,
    needs_label_vectors,
    needs_tokens,
    rescore,
)
from sea_core.reranker_fit import Group, fit_pairwise, taxonomy_queries, without_label_features
from sea_core.spans import Span
from sea_core.taxonomy import Skill, Taxonomy

TAXONOMY = Taxonomy(
    [
        Skill(
            "sql",
            alt_labels=("structured query language", "sql databases"),
            description="Query relational databases. Write joins.",
        ),
        Skill("python", alt_labels=("python programming",), description="Program in Python."),
        Skill("welding", description="Join metal parts by heat."),
    ]
)


def settings_for(weights: dict[str, float], depth: int = 10) -> RerankSettings:
    return RerankSettings(FEATURES, tuple(weights.get(f, 0.0) for f in FEATURES), depth)


# --- BM25 ---------------------------------------------------------------------------------


def test_bm25_scores_the_skill_whose_names_hold_the_rare_word():
    index = BM25.build(skill_names(TAXONOMY))
    scores = index.scores("relational sql", [0, 1, 2])
    assert scores[0] > 0 and scores[1] == scores[2] == 0.0
    assert index.scores("", [0, 1]) == [0.0, 0.0]
    assert index.pair_scores(["sql", "python"], [0, 1]) == [
        index.scores("sql", [0])[0],
        index.scores("python", [1])[0],
    ]


def test_bm25_prefers_the_shorter_document_for_the_same_word():
    index = BM25.build([["data"], ["data", "big data pipelines", "stream processing"]])
    short, long = index.scores("data", [0, 1])
    assert short > long > 0


# --- features and re-scoring --------------------------------------------------------------


def context(vectors=None) -> RerankContext:
    names = skill_names(TAXONOMY)
    return RerankContext(names, exact_names(TAXONOMY), BM25.build(names), vectors)


def test_features_mark_exact_names_and_hide_the_training_label():
    spans = [Span("structured query language", 0, 25)]
    cands = [
        Candidate(
            row=1,
            span_similarity=0.6,
            text_similarity=0.5,
            confidence=0.55,
            supporting=[0],
            phrase=spans[0].text,
            occurrence=1,
        ),
        Candidate(
            row=0,
            span_similarity=0.5,
            text_similarity=0.4,
            confidence=0.45,
            supporting=[0],
            phrase=spans[0].text,
            occurrence=1,
        ),
    ]
    vectors = np.eye(3, dtype=np.float32)[:1]
    shown = candidate_features(context(), spans[0].text, spans, vectors, vectors[0], cands)
    hidden = candidate_features(
        context(), spans[0].text, spans, vectors, vectors[0], cands, hidden_name="structured query language"
    )
    exact = FEATURES.index("exact_name")
    assert shown.shape == (2, len(FEATURES))
    assert shown[:, exact].tolist() == [0.0, 1.0] and hidden[:, exact].tolist() == [0.0, 0.0]
    assert shown[:, FEATURES.index("inverse_rank")].tolist() == [1.0, 0.5]
    assert shown[1, FEATURES.index("phrase_coverage")] == 1.0  # every phrase word is a name word
    assert shown[0, FEATURES.index("bm25_phrase")] == 0.0 < shown[1, FEATURES.index("bm25_phrase")]


def test_rescore_reorders_the_first_depth_candidates_and_keeps_their_confidences():
    cands = [Candidate(row=r, confidence=c) for r, c in [(0, 0.9), (1, 0.8), (2, 0.7), (3, 0.6)]]
    features = np.zeros((3, len(FEATURES)), np.float32)
    features[:, 0] = [0.9, 0.8, 0.7]
    features[2, FEATURES.index("exact_name")] = 1.0
    out = rescore(settings_for({"confidence": 1.0, "exact_name": 0.3}, depth=3), cands, features)
    assert [(c.row, c.confidence) for c in out] == [(2, 0.9), (0, 0.8), (1, 0.7), (3, 0.6)]
    assert out[0] is not cands[2] and cands[2].confidence == 0.7  # the input is not changed
    kept = rescore(settings_for({"confidence": 1.0}, depth=3), cands, features)
    assert [(c.row, c.confidence) for c in kept] == [(c.row, c.confidence) for c in cands]


def test_rescore_refuses_settings_of_another_feature_set():
    bad = RerankSettings(("confidence", "unknown"), (0.0, 1.0), 5)
    with pytest.raises(ValueError, match="features"):
        rescore(bad, [Candidate(row=0)], np.zeros((1, len(FEATURES)), np.float32))


def test_only_label_features_need_label_vectors():
    assert not needs_label_vectors(settings_for({"exact_name": 1.0}))
    assert needs_label_vectors(settings_for({"label_max": 0.1}))
    assert not needs_label_vectors(RerankSettings())


# --- fitting ------------------------------------------------------------------------------


def synthetic_groups(n: int, seed: int = 0) -> list[Group]:
    """Groups where the exact-name candidate is the relevant one, often not ranked first."""
    rng = np.random.default_rng(seed)
    groups = []
    for _ in range(n):
        x = np.zeros((6, len(FEATURES)), np.float32)
        x[:, 0] = np.sort(rng.uniform(0.4, 0.8, 6))[::-1]
        relevant = np.zeros(6, bool)
        hit = 0 if rng.uniform() < 0.4 else rng.integers(1, 6)
        x[hit, FEATURES.index("exact_name")] = 1.0
        relevant[hit] = True
        x[:, FEATURES.index("bm25_text")] = rng.normal(size=6)  # noise
        groups.append(Group(x, relevant))
    return groups


def test_pairwise_fit_learns_the_signal_and_ignores_the_noise():
    groups = synthetic_groups(40)
    settings = fit_pairwise(groups, depth=6)
    weights = dict(zip(settings.features, settings.weights))
    assert weights["exact_name"] > 1.0 > abs(weights["bm25_text"])
    assert settings.depth == 6 and settings.features == FEATURES
    first = [
        rescore(
            settings, [Candidate(row=i, confidence=float(g.features[i, 0])) for i in range(6)], g.features
        )[0].row
        for g in groups
    ]
    assert all(g.relevant[r] for r, g in zip(first, groups))


def test_pairwise_fit_uses_only_the_features_named_and_survives_no_pairs():
    settings = fit_pairwise(synthetic_groups(10), depth=6, features=without_label_features())
    assert all(w == 0.0 for f, w in zip(FEATURES, settings.weights) if f == "label_max")
    empty = fit_pairwise([Group(np.zeros((3, len(FEATURES))), np.zeros(3, bool))], depth=3)
    assert empty.weights == tuple(1.0 if f == "confidence" else 0.0 for f in FEATURES)
    assert empty.depth == 3


def test_taxonomy_queries_take_labels_and_description_sentences():
    names = skill_names(TAXONOMY)
    queries = taxonomy_queries(TAXONOMY, names, per_kind=2)
    labels = [q for q in queries if q.hidden_name]
    sentences = [q for q in queries if not q.hidden_name]
    assert len(labels) == 2 and len(sentences) == 2
    assert all(q.text == q.hidden_name and q.text in names[q.row][1:] for q in labels)
    assert all(q.text in TAXONOMY[q.row].description for q in sentences)
    assert taxonomy_queries(TAXONOMY, names, per_kind=2) == queries  # seeded


# --- settings, pipeline, bundle -----------------------------------------------------------


def test_rerank_settings_round_trip_and_old_settings_keep_the_matcher():
    config = replace(MatchConfig(), rerank=settings_for({"exact_name": 0.2}, depth=30))
    assert MatchConfig.from_settings(asdict(config)) == config
    assert MatchConfig.from_settings({"exact_name_bonus": 0.025}).rerank == RerankSettings()
    # a re-ranker of today's pool steps back to matcher 3 (the top 20 of the narrower pool)
    assert previous_matcher(config) == replace(
        config, text_top_n=10, rerank=late_interaction_reranker(depth=20)
    )


def test_the_dev_reranker_is_opt_in_and_needs_no_label_vectors():
    found = dev_reranker()
    assert MatchConfig().rerank != found and not needs_label_vectors(MatchConfig().rerank)
    assert found.depth > 0 and found.features == FEATURES[: len(found.features)]
    assert not needs_label_vectors(found) and not needs_tokens(found)
    opted = replace(MatchConfig(), rerank=found)
    assert previous_matcher(opted) == MatchConfig(text_top_n=10, rerank=late_interaction_reranker(depth=20))


def test_pipeline_reranks_and_caches_label_vectors(tmp_path, tiny_sentence_encoder_dir):
    from sea_core.encoder import Encoder

    encoder = Encoder(tiny_sentence_encoder_dir)
    pipeline = Pipeline(encoder, TAXONOMY, embeddings_dir=tmp_path)
    plain = pipeline.rank("we build python tools", k=3)
    boost = settings_for({"exact_name": 5.0, "label_max": 1e-6}, depth=3)
    reranked = pipeline.with_match(replace(pipeline.config.match, rerank=boost))
    ranked = reranked.rank("welding", k=3)
    assert ranked[0][0] == TAXONOMY[2].skill_id
    assert [c for _, c in ranked] == [c for _, c in pipeline.rank("welding", k=3)]
    assert len(list(tmp_path.glob("label_vectors_*.npy"))) == 1
    calls = []
    encode = encoder.encode
    encoder.encode = lambda texts, **kw: calls.append(len(texts)) or encode(texts, **kw)
    again = label_vectors(encoder, TAXONOMY, tmp_path)
    assert calls == [] and again.vectors.dtype == np.float16
    assert again.vectors.shape[0] == sum(len(n) for n in skill_names(TAXONOMY))
    assert pipeline.rank("we build python tools", k=3) == plain  # the original is unchanged


def test_bundle_keeps_the_reranker_and_its_label_vectors(tmp_path, tiny_sentence_encoder_dir):
    from sea_core.bundle import EMBEDDING_MODEL_DIR, load_bundle, save_bundle
    from sea_core.encoder import Encoder
    from sea_core.pipeline import PipelineConfig

    match = replace(MatchConfig(), rerank=settings_for({"label_max": 0.1}, depth=20))
    save_bundle(
        tmp_path / "b", Encoder(tiny_sentence_encoder_dir), TAXONOMY, config=PipelineConfig(match=match)
    )
    assert len(list((tmp_path / "b" / EMBEDDING_MODEL_DIR).glob("label_vectors_*.npy"))) == 1
    loaded = load_bundle(tmp_path / "b")
    assert loaded.config.match == match
    assert loaded.rank("welding", k=1)[0][0] in TAXONOMY
