"""Late interaction (`sea_core.token_match`) and its re-ranker feature `title_maxsim`."""

from __future__ import annotations

import numpy as np
import pytest

from sea_core.matching import Candidate, MatchConfig
from sea_core.reranker import FEATURES, late_interaction_reranker, needs_tokens, rescore
from sea_core.token_match import TokenMatcher, maxsim

AXES = {"python": 0, "sql": 1, "data": 2, "models": 3, "welding": 4}


def fake_tokens(texts):
    """One unit token row per known word (an axis each), unknown words on their own axis."""
    out = []
    for text in texts:
        rows = [np.eye(6, dtype=np.float32)[AXES.get(w, 5)] for w in text.lower().split()]
        out.append(np.asarray(rows, dtype=np.float32).reshape(-1, 6))
    return out


def test_maxsim_is_the_mean_best_match_of_the_query_tokens():
    query = fake_tokens(["data models"])[0]
    assert maxsim(query, fake_tokens(["we build data models daily"])[0]) == pytest.approx(1.0)
    assert maxsim(query, fake_tokens(["we clean data"])[0]) == pytest.approx(0.5)
    assert maxsim(query, fake_tokens(["welding"])[0]) == pytest.approx(0.0)


def test_no_tokens_on_either_side_scores_zero():
    empty = np.zeros((0, 6), dtype=np.float32)
    assert maxsim(empty, fake_tokens(["sql"])[0]) == 0.0
    assert maxsim(fake_tokens(["sql"])[0], empty) == 0.0


def test_titles_are_encoded_once_and_scored_against_the_text():
    calls = []

    def encode(texts):
        calls.append(list(texts))
        return fake_tokens(texts)

    matcher = TokenMatcher(["python", "data models", "welding"], encode)
    scores = matcher.scores("python and data models", [0, 1, 2])
    assert scores.tolist() == pytest.approx([1.0, 1.0, 0.0])
    matcher.scores("welding work", [2, 1])
    titles_encoded = [t for call in calls for t in call if t in ("python", "data models", "welding")]
    assert sorted(titles_encoded) == ["data models", "python", "welding"]  # each title once
    assert matcher.scores("anything", []).shape == (0,)


def test_the_late_interaction_reranker_weighs_confidence_and_maxsim_only():
    settings = late_interaction_reranker(weight=0.5, depth=20)
    assert settings.features == FEATURES and settings.depth == 20
    weighted = {f: w for f, w in zip(settings.features, settings.weights) if w}
    assert weighted == {"confidence": 1.0, "title_maxsim": 0.5}
    assert needs_tokens(settings) and not needs_tokens(MatchConfig().rerank)


def test_rescoring_by_maxsim_reorders_and_keeps_the_confidences_in_place():
    candidates = [Candidate(row=0, confidence=0.70), Candidate(row=1, confidence=0.68)]
    features = np.zeros((2, len(FEATURES)), dtype=np.float32)
    features[:, FEATURES.index("confidence")] = [0.70, 0.68]
    features[:, FEATURES.index("title_maxsim")] = [0.2, 0.9]  # the second names the text better
    out = rescore(late_interaction_reranker(weight=0.5, depth=2), candidates, features)
    assert [c.row for c in out] == [1, 0] and [c.confidence for c in out] == [0.70, 0.68]
    shallow = rescore(late_interaction_reranker(weight=0.5, depth=1), candidates, features)
    assert [c.row for c in shallow] == [0, 1]  # boundary: past the depth nothing moves


def test_the_pipeline_serves_the_late_interaction_reranker(tiny_sentence_encoder_dir):
    from sea_core.encoder import Encoder
    from sea_core.pipeline import Pipeline
    from sea_core.taxonomy import Skill, Taxonomy

    taxonomy = Taxonomy([Skill("SQL"), Skill("Python (computer programming)"), Skill("welding")])
    pipeline = Pipeline(Encoder(tiny_sentence_encoder_dir), taxonomy)
    late = pipeline.with_match(MatchConfig(rerank=late_interaction_reranker()))
    ranked = late.rank("we write SQL and Python every day", k=3)
    matcher = late.rerank_context().tokens
    assert len(ranked) == 3 and matcher is not None
    assert matcher.titles[1] == "Python"  # the qualifier left out
    assert pipeline.rerank_context().tokens is None  # the shipped matcher encodes no tokens
    tokens = pipeline.encoder.token_embeddings(["SQL and Python"])[0]
    assert np.allclose(np.linalg.norm(tokens, axis=1), 1.0, atol=1e-5)


def test_the_text_tokens_come_from_the_text_vector_pass(tiny_sentence_encoder_dir):
    from sea_core.encoder import Encoder
    from sea_core.pipeline import Pipeline
    from sea_core.taxonomy import Skill, Taxonomy

    taxonomy = Taxonomy([Skill("SQL"), Skill("Python (computer programming)"), Skill("welding")])
    encoder = Encoder(tiny_sentence_encoder_dir)
    late = Pipeline(encoder, taxonomy).with_match(MatchConfig(rerank=late_interaction_reranker()))
    text = "we write SQL and Python every day"
    (encoded,) = late.embed_batch([text])
    assert encoded.text_tokens is not None and len(encoded.text_tokens) > 0
    vectors, _ = encoder.encode_with_tokens([text])
    assert np.allclose(encoded.text_vector, vectors[0], atol=1e-5)
    assert np.allclose(encoder.encode([text])[0], vectors[0], atol=1e-5)  # the same text vector
    seen: list[list[str]] = []
    original = encoder.token_embeddings

    def counting(texts):
        seen.append(list(texts))
        return original(texts)

    matcher = late.rerank_context().tokens
    assert matcher is not None
    matcher._encode = counting
    late.rank_encoded(encoded)
    assert seen  # the candidates' titles were encoded
    assert text not in [t for call in seen for t in call]  # the text is not encoded again
    (plain,) = Pipeline(encoder, taxonomy).embed_batch([text])
    assert plain.text_tokens is None  # the shipped matcher does not compute them


@pytest.mark.parametrize(
    ("title", "words"),
    [
        ("Python (computer programming)", "Python"),
        ("SQL", "SQL"),
        ("(computer programming)", "(computer programming)"),  # nothing else left: kept whole
        ("Java (computer programming) basics", "Java basics"),
        ("", ""),
    ],
)
def test_a_title_is_matched_without_its_parenthetical_qualifier(title, words):
    from sea_core.token_match import match_title

    assert match_title(title) == words
