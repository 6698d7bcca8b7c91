"""Default span extractor: phrases, offsets, chunking (happy, negative, edge, boundary)."""

import pytest

from sea_core.spans import PhraseSpanExtractor, Span, chunk_bounds, merge_spans


def texts(spans):
    return [s.text for s in spans]


def test_phrases_split_at_function_words_and_punctuation():
    text = "Strong expertise in Python and deep learning frameworks (PyTorch, TensorFlow)."
    spans = PhraseSpanExtractor().extract(text)
    assert texts(spans) == ["Python", "deep learning frameworks", "PyTorch", "TensorFlow"]
    for span in spans:
        assert text[span.start : span.end] == span.text


def test_programming_language_tokens_kept_whole():
    assert texts(PhraseSpanExtractor().extract("C++, C# and node.js")) == ["C++", "C#", "node.js"]


def test_long_phrase_offered_as_windows():
    spans = PhraseSpanExtractor(max_words=2).extract("cloud native data platform")
    assert texts(spans) == ["cloud native", "native data", "data platform"]


def test_max_words_must_be_positive():
    with pytest.raises(ValueError, match="max_words"):
        PhraseSpanExtractor(max_words=0)


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "and the of", "...!!!"])
def test_no_phrases_in_empty_or_stopword_text(text):
    assert PhraseSpanExtractor().extract(text) == []


def test_unicode_emoji_and_html_offsets_stay_exact():
    text = "<b>Gestión</b> de proyectos 🚀 and 数据分析 with Python 🐍"
    spans = PhraseSpanExtractor().extract(text)
    assert spans, "non-English text still yields phrases"
    for span in spans:
        assert text[span.start : span.end] == span.text
    assert "Python" in texts(spans)


def test_chunk_bounds_size_three_on_length_four_gives_two_chunks():
    assert list(chunk_bounds(4, 3)) == [(0, 3), (3, 4)]


@pytest.mark.parametrize(
    "length,size,expected",
    [
        (3, 3, [(0, 3)]),  # exactly one chunk
        (2, 3, [(0, 2)]),  # shorter than a chunk
        (0, 3, []),  # empty input
        (7, 3, [(0, 3), (3, 6), (6, 7)]),
    ],
)
def test_chunk_bounds_boundaries(length, size, expected):
    assert list(chunk_bounds(length, size)) == expected


def test_chunk_bounds_with_overlap_covers_everything():
    bounds = list(chunk_bounds(10, 4, overlap=2))
    assert bounds[0] == (0, 4) and bounds[-1][1] == 10
    assert all(b[0] < a[1] for a, b in zip(bounds, bounds[1:]))


@pytest.mark.parametrize("size,overlap", [(0, 0), (-1, 0), (3, 3), (3, -1)])
def test_chunk_bounds_rejects_bad_arguments(size, overlap):
    with pytest.raises(ValueError):
        list(chunk_bounds(10, size, overlap))


def test_span_at_chunk_border_is_not_lost():
    text = "python machine learning engineer, data pipelines; cloud platform operations"
    whole = PhraseSpanExtractor(chunk_size=10_000).extract(text)
    for size in range(1, len(text) + 2):  # every border position, incl. inside phrases
        assert PhraseSpanExtractor(chunk_size=size).extract(text) == whole, size


def test_chunks_hold_whole_clauses():
    extractor = PhraseSpanExtractor(chunk_size=3)
    text = "data mining, cloud ops"
    assert extractor._chunks(text) == [(0, 13), (13, 22)]


def test_chunking_at_clause_breaks_matches_unchunked_output():
    text = "; ".join(f"develop software product {i}" for i in range(200))
    assert texts(PhraseSpanExtractor(chunk_size=100).extract(text)) == texts(
        PhraseSpanExtractor(chunk_size=100_000).extract(text)
    )


def test_merge_spans_drops_duplicates_and_sorts():
    a, b = Span("x", 5, 6), Span("y", 0, 1)
    assert merge_spans([a, b, a]) == [b, a]
