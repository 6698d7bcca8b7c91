"""The bounded phrase-embedding cache, and the pipeline's de-duplication of phrases."""

import numpy as np
import pytest

from sea_core.embedding_cache import EmbeddingCache
from sea_core.encoder import Encoder
from sea_core.pipeline import Pipeline
from sea_core.taxonomy import Skill, Taxonomy


class CountingEncode:
    """An encode function that records what it was asked to embed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.asarray([[float(len(t)), 1.0] for t in texts], dtype=np.float32).reshape(-1, 2)


def test_each_distinct_text_is_encoded_once_and_rows_follow_the_input_order():
    cache, encode = EmbeddingCache(10), CountingEncode()
    rows = cache.embed("enc", ["sql", "python", "sql"], encode)
    assert encode.calls == [["sql", "python"]]
    assert rows[:, 0].tolist() == [3.0, 6.0, 3.0]
    again = cache.embed("enc", ["python", "git"], encode)
    assert encode.calls[-1] == ["git"]
    assert again[:, 0].tolist() == [6.0, 3.0]
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (1, 3, 3)
    assert stats.hit_rate == pytest.approx(0.25)


def test_keys_keep_encoders_apart():
    cache, encode = EmbeddingCache(10), CountingEncode()
    cache.embed("weights-a:torch", ["sql"], encode)
    cache.embed("weights-a:onnx-int8", ["sql"], encode)
    cache.embed("weights-b:torch", ["sql"], encode)
    assert len(encode.calls) == 3 and len(cache) == 3


def test_least_recently_used_row_is_evicted_at_the_bound():
    cache, encode = EmbeddingCache(2), CountingEncode()
    cache.embed("k", ["a", "b"], encode)
    cache.embed("k", ["a"], encode)  # a is now the most recent
    cache.embed("k", ["c"], encode)  # evicts b
    assert len(cache) == 2
    cache.embed("k", ["a", "b"], encode)
    assert encode.calls[-1] == ["b"]  # a was kept, b had to be encoded again


def test_zero_entries_disables_caching_but_still_deduplicates():
    cache, encode = EmbeddingCache(0), CountingEncode()
    cache.embed("k", ["a", "a"], encode)
    cache.embed("k", ["a"], encode)
    assert encode.calls == [["a"], ["a"]] and len(cache) == 0


def test_empty_input_and_negative_bound():
    cache, encode = EmbeddingCache(3), CountingEncode()
    assert cache.embed("k", [], encode).shape == (0, 2)
    with pytest.raises(ValueError, match="max_entries"):
        EmbeddingCache(-1)


def test_clear_forgets_rows_and_counters():
    cache, encode = EmbeddingCache(3), CountingEncode()
    cache.embed("k", ["a"], encode)
    cache.clear()
    assert len(cache) == 0 and cache.stats().misses == 0


@pytest.fixture(scope="module")
def tiny_pipeline_parts(tiny_sentence_encoder_dir):
    skills = [
        Skill("python"),
        Skill("data analysis"),
        Skill("welding"),
        Skill("accounting"),
        Skill("sql"),
        Skill("machine learning"),
    ]
    return Encoder(tiny_sentence_encoder_dir), Taxonomy(skills)


TEXTS = [
    "python and sql for data analysis, python again",
    "welding and accounting; sql",
    "machine learning with python and sql",
]


def test_batch_with_deduplication_gives_the_same_results_as_one_text_at_a_time(tiny_pipeline_parts):
    encoder, taxonomy = tiny_pipeline_parts
    single = Pipeline(encoder, taxonomy, phrase_cache=EmbeddingCache(0))
    batch = Pipeline(encoder, taxonomy, single.index)
    one_by_one = [single.extract(t, min_confidence=0) for t in TEXTS]
    together = batch.extract_batch(TEXTS, min_confidence=0)
    for a, b in zip(one_by_one, together, strict=True):
        assert [s["skill_id"] for s in a["skillExtractOutput"]] == [
            s["skill_id"] for s in b["skillExtractOutput"]
        ]
        assert np.allclose(
            [s["confidenceScore"] for s in a["skillExtractOutput"]],
            [s["confidenceScore"] for s in b["skillExtractOutput"]],
            atol=1e-5,
        )
        assert [s["phrase"] for s in a["skillExtractOutput"]] == [
            s["phrase"] for s in b["skillExtractOutput"]
        ]


def test_batch_encodes_each_distinct_phrase_once(tiny_pipeline_parts, monkeypatch):
    encoder, taxonomy = tiny_pipeline_parts
    pipeline = Pipeline(encoder, taxonomy)
    seen: list[str] = []
    with_tokens = encoder.encode_with_tokens
    # skill names for late interaction are not counted; texts with their tokens are
    monkeypatch.setattr(encoder, "token_embeddings", lambda texts: with_tokens(texts)[1])
    for method in ("encode", "encode_with_tokens"):
        original = getattr(encoder, method)

        def counting(texts, *args, _original=original, **kwargs):
            seen.extend(texts)
            return _original(texts, *args, **kwargs)

        monkeypatch.setattr(encoder, method, counting)
    pipeline.extract_batch(TEXTS + TEXTS[:1])
    phrases = [t for t in seen if t not in TEXTS]
    assert len(phrases) == len(set(phrases))
    assert sum(t == TEXTS[0] for t in seen) == 1
    before = len(seen)
    pipeline.extract(TEXTS[1])  # every phrase cached: only the text itself is encoded
    assert seen[before:] == [TEXTS[1]]
