"""TokenClassifierSpanExtractor over tiny hand-weighted BIO models (tests/fixtures/tiny_models.py):
python/java/machine/data/sql tag B, learning/analysis/science tag I, `##s` is neutral, all else O;
the knowledge model tags statistics/accounting B and principles I."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from sea_core.spans.base import Span, SpanExtractor
from sea_core.spans.token_classifier import SpanModelError, TokenClassifierSpanExtractor, label_for_model
from tests.fixtures.tiny_models import OTHER_WORDS, SKILL_BEGIN_WORDS, SKILL_INSIDE_WORDS


@pytest.fixture(scope="module")
def skills(tiny_token_classifier_dir):
    return TokenClassifierSpanExtractor({"skill": tiny_token_classifier_dir}, device="cpu")


@pytest.fixture(scope="module")
def both(tiny_token_classifier_dir, tiny_knowledge_classifier_dir):
    return TokenClassifierSpanExtractor(
        {"skill": tiny_token_classifier_dir, "knowledge": tiny_knowledge_classifier_dir}, device="cpu"
    )


def found(spans: list[Span]) -> list[tuple[str, int, int, str]]:
    return [(s.text, s.start, s.end, s.label) for s in spans]


def assert_offsets(text: str, spans: list[Span]) -> None:
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert 0.0 < span.score <= 1.0
    assert [s.start for s in spans] == sorted(s.start for s in spans)


def expected_spans(words: list[str]) -> list[tuple[str, int, int, str]]:
    """The skill spans of a space-joined word list, decoded the way the tiny model tags it."""
    spans, current, position = [], None, 0
    for word in words:
        start, end = position, position + len(word)
        position = end + 1
        if word in SKILL_BEGIN_WORDS or (word in SKILL_INSIDE_WORDS and current is None):
            if current:
                spans.append(current)
            current = [start, end]
        elif word in SKILL_INSIDE_WORDS:
            current[1] = end
        else:
            if current:
                spans.append(current)
            current = None
    if current:
        spans.append(current)
    text = " ".join(words)
    return [(text[a:b], a, b, "skill") for a, b in spans]


# ---------------------------------------------------------------- happy path


def test_is_a_span_extractor_with_exact_spans(skills):
    text = "We use Python and machine learning."
    spans = skills.extract(text)
    assert isinstance(skills, SpanExtractor)
    assert found(spans) == [("Python", 7, 13, "skill"), ("machine learning", 18, 34, "skill")]
    assert_offsets(text, spans)
    assert spans[0].score > 0.99


def test_two_models_label_spans_with_the_model_name(both):
    text = "Accounting principles and data analysis with SQL."
    spans = both.extract(text)
    assert found(spans) == [
        ("Accounting principles", 0, 21, "knowledge"),
        ("data analysis", 26, 39, "skill"),
        ("SQL", 45, 48, "skill"),
    ]
    assert both.labels == ["skill", "knowledge"]


def test_model_list_is_labelled_from_folder_names(tiny_token_classifier_dir, tiny_knowledge_classifier_dir):
    extractor = TokenClassifierSpanExtractor(
        [tiny_knowledge_classifier_dir, tiny_token_classifier_dir], device="cpu"
    )
    assert extractor.labels == ["knowledge", "skill"]
    assert found(extractor.extract("statistics python")) == [
        ("statistics", 0, 10, "knowledge"),
        ("python", 11, 17, "skill"),
    ]


def test_word_pieces_are_aggregated_into_the_whole_word(skills):
    spans = skills.extract("Pythons")
    assert found(spans) == [("Pythons", 0, 7, "skill")]
    assert spans[0].score < skills.extract("Python")[0].score


def test_bio_decoding_b_after_b_and_i_without_b(skills):
    assert found(skills.extract("python java")) == [("python", 0, 6, "skill"), ("java", 7, 11, "skill")]
    assert found(skills.extract("learning python")) == [
        ("learning", 0, 8, "skill"),
        ("python", 9, 15, "skill"),
    ]
    assert found(skills.extract("python, java.")) == [("python", 0, 6, "skill"), ("java", 8, 12, "skill")]


def test_extract_many_matches_extract(skills):
    texts = ["python", "", "we use data science", "the team"]
    assert skills.extract_many(texts) == [skills.extract(t) for t in texts]
    assert skills.extract_many([]) == []


# ---------------------------------------------------------------- chunking


@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_chunk_size_3_on_4_words_keeps_the_span_across_the_border(
    tiny_token_classifier_dir, overlap, monkeypatch
):
    extractor = TokenClassifierSpanExtractor(
        {"skill": tiny_token_classifier_dir}, chunk_size=3, overlap=overlap, device="cpu", batch_size=1
    )
    model = extractor.models[0].model
    calls = []
    forward = model.forward
    monkeypatch.setattr(
        model, "forward", lambda *a, **k: calls.append(k["input_ids"].shape) or forward(*a, **k)
    )
    text = "we use machine learning"  # words 2 and 3 straddle the border of window (0, 3)
    assert found(extractor.extract(text)) == [("machine learning", 7, 23, "skill")]
    assert len(calls) == 2  # two windows
    assert calls[0][1] == 3 + 2  # three words plus [CLS] and [SEP]
    assert found(extractor.extract("we use a python")) == [("python", 9, 15, "skill")]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 16, 128])
def test_long_text_gives_the_same_spans_for_any_chunk_size(tiny_token_classifier_dir, chunk_size):
    vocabulary = list(SKILL_BEGIN_WORDS + SKILL_INSIDE_WORDS) + [w for w in OTHER_WORDS if w.isalpha()]
    words = random.Random(7).choices(vocabulary, k=300)
    text = " ".join(words)
    extractor = TokenClassifierSpanExtractor(
        {"skill": tiny_token_classifier_dir}, chunk_size=chunk_size, device="cpu", batch_size=8
    )
    spans = extractor.extract(text)
    assert found(spans) == expected_spans(words)
    assert_offsets(text, spans)
    assert len(spans) > 20


def test_windows_longer_than_the_model_input_are_split(tiny_token_classifier_dir):
    """The tiny model takes 32 positions (30 pieces): 128-word windows must be cut further."""
    words = ["python", "learning", "the"] * 40
    extractor = TokenClassifierSpanExtractor(
        {"skill": tiny_token_classifier_dir}, chunk_size=128, overlap=0, device="cpu"
    )
    assert found(extractor.extract(" ".join(words))) == expected_spans(words)


def test_a_word_longer_than_the_model_input_is_cut_not_fatal(tiny_token_classifier_dir):
    """ "python" + 40 x "##s" is 41 pieces, more than the 30 the tiny model takes."""
    extractor = TokenClassifierSpanExtractor({"skill": tiny_token_classifier_dir}, device="cpu")
    long_word = "python" + "s" * 40
    text = f"java {long_word} the sql"
    spans = extractor.extract(text)
    assert found(spans) == [("java", 0, 4, "skill"), (long_word, 5, 51, "skill"), ("sql", 56, 59, "skill")]


# ---------------------------------------------------------------- edge cases


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "🙂", "the team"])
def test_texts_without_spans(skills, text):
    assert skills.extract(text) == []


def test_unicode_emoji_and_accents_keep_original_offsets(skills):
    text = "🙂🙂 Pythön für 数据 machine learning ✓"
    spans = skills.extract(text)
    assert found(spans) == [("Pythön", 3, 9, "skill"), ("machine learning", 17, 33, "skill")]
    assert_offsets(text, spans)


def test_spans_at_text_start_and_end_and_extra_whitespace(skills):
    text = "  SQL \n\n and   machine    learning  "
    spans = skills.extract(text)
    assert found(spans) == [("SQL", 2, 5, "skill"), ("machine    learning", 15, 34, "skill")]


# ---------------------------------------------------------------- errors


def test_missing_model_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "no_such_model"
    with pytest.raises(SpanModelError, match="does not exist") as error:
        TokenClassifierSpanExtractor({"skill": missing})
    assert str(missing) in str(error.value)
    with pytest.raises(SpanModelError, match="does not exist"):
        TokenClassifierSpanExtractor(["./models/nothing_here"])


def test_folder_without_config_is_a_clear_error(tmp_path):
    (tmp_path / "empty_model").mkdir()
    with pytest.raises(SpanModelError, match="no config.json"):
        TokenClassifierSpanExtractor({"skill": tmp_path / "empty_model"})


def test_uncached_hub_id_offline_names_the_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SpanModelError, match="sea-tests/not-a-cached-model") as error:
        TokenClassifierSpanExtractor({"skill": "sea-tests/not-a-cached-model"})
    assert "offline" in str(error.value)


def test_model_without_bio_labels_is_rejected(tiny_token_classifier_dir, tmp_path):
    folder = tmp_path / "not_bio"
    shutil.copytree(tiny_token_classifier_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(SpanModelError, match="not BIO tags"):
        TokenClassifierSpanExtractor({"skill": folder})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": 3, "overlap": 3}, "overlap"),
        ({"chunk_size": 3, "overlap": -1}, "overlap"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_invalid_settings(tiny_token_classifier_dir, kwargs, message):
    with pytest.raises(ValueError, match=message):
        TokenClassifierSpanExtractor({"skill": tiny_token_classifier_dir}, **kwargs)


def test_no_models_or_duplicate_labels(tiny_token_classifier_dir):
    with pytest.raises(ValueError, match="at least one model"):
        TokenClassifierSpanExtractor({})
    with pytest.raises(ValueError, match="same label"):
        TokenClassifierSpanExtractor([tiny_token_classifier_dir, tiny_token_classifier_dir])


def test_label_for_model_names():
    assert label_for_model("jjzha/jobbert_skill_extraction") == "skill"
    assert label_for_model("/models/jobbert_knowledge_extraction/") == "knowledge"
    assert label_for_model("org/ner-model") == "ner-model"


# ---------------------------------------------------------------- the sentence-encoder fixture


def test_tiny_sentence_encoder_loads_offline_and_embeds(tiny_sentence_encoder_dir):
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_sentence_encoder_dir), device="cpu")
    vectors = model.encode(["python programming", "bake bread", "python programming"])
    assert vectors.shape == (3, model.get_embedding_dimension())
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2])
    assert not np.allclose(vectors[0], vectors[1])
