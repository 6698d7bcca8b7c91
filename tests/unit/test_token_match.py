"""Late interaction (`sea_core.token_match`), its re-ranker feature `title_maxsim`, and the
default re-ranker built on it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sea_core.matching import FEATURES, Candidate, MatchConfig, RerankSettings, late_interaction_reranker
from sea_core.reranker import needs_tokens, rescore
from sea_core.token_match import TokenMatcher, maxsim

AXES = {"python": 0, "sql": 1, "data": 2, "models": 3, "welding": 4, "html": 5}  # else axis 6


def fake_tokens(texts):
    """One unit token row per known word (an axis each), unknown words on their own axis."""
    out = []
    for text in texts:
        rows = [np.eye(7, dtype=np.float32)[AXES.get(w, 6)] for w in text.lower().split()]
        out.append(np.asarray(rows, dtype=np.float32).reshape(-1, 7))
    return out


def test_maxsim_is_the_mean_best_match_of_the_query_tokens():
    query = fake_tokens(["data models"])[0]
    assert maxsim(query, fake_tokens(["we build data models daily"])[0]) == pytest.approx(1.0)
    assert maxsim(query, fake_tokens(["we clean data"])[0]) == pytest.approx(0.5)
    assert maxsim(query, fake_tokens(["welding"])[0]) == pytest.approx(0.0)


def test_no_tokens_on_either_side_scores_zero():
    empty = np.zeros((0, 7), dtype=np.float32)
    assert maxsim(empty, fake_tokens(["sql"])[0]) == 0.0
    assert maxsim(fake_tokens(["sql"])[0], empty) == 0.0


def counting_encoder():
    calls: list[list[str]] = []

    def encode(texts):
        calls.append(list(texts))
        return fake_tokens(texts)

    return encode, calls


def test_titles_are_encoded_once_and_scored_against_the_text():
    encode, calls = counting_encoder()
    matcher = TokenMatcher(["python", "data models", "welding"], encode)
    text = "python and data models"
    assert matcher.scores(text, [0, 1, 2]).tolist() == pytest.approx([1.0, 1.0, 0.0])
    matcher.scores("welding work", [2, 1])
    titles_encoded = [t for call in calls for t in call if t not in (text, "welding work")]
    assert sorted(titles_encoded) == ["data models", "python", "welding"]  # each title once
    assert matcher.scores("anything", []).shape == (0,)


def test_a_hidden_title_scores_zero():
    matcher = TokenMatcher(["Python (computer programming)", "sql"], fake_tokens)
    hidden = matcher.scores("python sql", [0, 1], hidden=lambda title: title.startswith("Python"))
    assert hidden.tolist() == pytest.approx([0.0, 1.0])  # judged on the title as written


def test_a_title_without_tokens_scores_zero():
    matcher = TokenMatcher(["", "sql"], fake_tokens)
    assert matcher.scores("sql", [0, 1]).tolist() == pytest.approx([0.0, 1.0])


def test_the_title_cache_is_bounded_and_can_be_cleared():
    encode, calls = counting_encoder()
    matcher = TokenMatcher(["python", "sql", "welding"], encode, max_skills=2)
    text = fake_tokens(["python"])[0]
    matcher.scores("python", [0, 1], text)
    matcher.scores("python", [2], text)  # evicts the least recently used: row 0
    assert matcher.cached_skills == 2 and matcher.cached_bytes == 2 * 7 * 2  # one float16 row each
    matcher.scores("python", [1], text)
    matcher.scores("python", [0], text)  # encoded again
    assert calls == [["python", "sql"], ["welding"], ["python"]]
    assert matcher.scores("python", [0, 0], text).tolist() == pytest.approx([1.0, 1.0])
    matcher.clear()
    assert matcher.cached_skills == 0 and matcher.cached_bytes == 0


def test_a_cache_of_no_skills_is_refused():
    with pytest.raises(ValueError, match="max_skills"):
        TokenMatcher(["python"], fake_tokens, max_skills=0)


def test_the_late_interaction_reranker_is_the_default_and_weighs_confidence_maxsim_and_exact_names():
    settings = late_interaction_reranker(weight=0.5, depth=20, exact_weight=0.2)
    assert settings.features == FEATURES and settings.depth == 20
    weighted = {f: w for f, w in zip(settings.features, settings.weights) if w}
    assert weighted == {"confidence": 1.0, "title_maxsim": 0.5, "exact_name": 0.2}
    assert MatchConfig().rerank == late_interaction_reranker()
    assert needs_tokens(MatchConfig().rerank) and not needs_tokens(RerankSettings())


def test_a_skill_named_exactly_by_a_label_keeps_its_place_against_a_closer_title():
    # regression: a text that says HTML lost "use markup languages" (label "use HTML") when
    # only the title's max-sim was added
    candidates = [Candidate(row=0, confidence=0.70), Candidate(row=1, confidence=0.66)]
    features = np.zeros((2, len(FEATURES)), dtype=np.float32)
    features[:, FEATURES.index("confidence")] = [0.70, 0.66]
    features[:, FEATURES.index("title_maxsim")] = [0.50, 0.45]
    features[:, FEATURES.index("exact_name")] = [0.0, 1.0]
    out = rescore(late_interaction_reranker(), candidates, features)
    assert [c.row for c in out] == [1, 0]
    without = rescore(late_interaction_reranker(exact_weight=0.0), candidates, features)
    assert [c.row for c in without] == [0, 1]


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
    ranked = pipeline.rank("we write SQL and Python every day", k=3)
    matcher = pipeline.rerank_context().tokens
    assert len(ranked) == 3 and matcher is not None
    assert matcher.titles[1] == "Python"  # the qualifier left out
    before = Pipeline(
        pipeline.encoder,
        taxonomy,
        config=replace(pipeline.config, match=MatchConfig(rerank=RerankSettings())),
    )
    assert before.rerank_context().tokens is None  # the previous matcher encodes no tokens
    tokens = pipeline.encoder.token_embeddings(["SQL and Python"])[0]
    assert np.allclose(np.linalg.norm(tokens, axis=1), 1.0, atol=1e-5)


def test_the_text_tokens_come_from_the_text_vector_pass(tiny_sentence_encoder_dir):
    from sea_core.encoder import Encoder
    from sea_core.pipeline import Pipeline
    from sea_core.taxonomy import Skill, Taxonomy

    taxonomy = Taxonomy([Skill("SQL"), Skill("Python (computer programming)"), Skill("welding")])
    encoder = Encoder(tiny_sentence_encoder_dir)
    late = Pipeline(encoder, taxonomy)
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
    before = Pipeline(encoder, taxonomy).with_match(MatchConfig(rerank=RerankSettings()))
    (plain,) = before.embed_batch([text])
    assert plain.text_tokens is None  # the previous matcher does not compute them


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
