"""Encoder backends: selection, the ONNX export and its fp32-agreement check (tiny encoder)."""

import json
import shutil

import numpy as np
import pytest

from sea_core.backends import (
    MODEL_FILES,
    ONNX,
    PROBE_TEXTS,
    BackendError,
    agreement,
    check_backend,
    meta_path,
)
from sea_core.bundle import load_bundle, read_pipeline_settings, save_bundle
from sea_core.encoder import Encoder, weights_fingerprint
from sea_core.taxonomy import Skill, Taxonomy


@pytest.fixture(scope="module")
def onnx_encoder(tiny_sentence_encoder_dir, tmp_path_factory):
    return Encoder(tiny_sentence_encoder_dir, backend=ONNX, export_dir=tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def torch_encoder(tiny_sentence_encoder_dir):
    return Encoder(tiny_sentence_encoder_dir)


@pytest.fixture(scope="module")
def other_model_dir(tiny_sentence_encoder_dir, tmp_path_factory):
    """The tiny encoder with other weights (a model whose export must not be taken for it)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_sentence_encoder_dir), device="cpu")
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(1)
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter))
    folder = tmp_path_factory.mktemp("other") / "other_encoder"
    model.save(str(folder))
    return folder


def test_unknown_backend_is_refused_with_the_known_ones(tiny_sentence_encoder_dir):
    with pytest.raises(BackendError, match="onnx-int8"):
        Encoder(tiny_sentence_encoder_dir, backend="tensorrt")
    assert check_backend("onnx-int8") == "onnx-int8"


def test_torch_is_the_default_backend(torch_encoder):
    assert torch_encoder.backend == "torch"
    assert torch_encoder.export_dir is None and torch_encoder.agreement is None


def test_onnx_backend_agrees_with_fp32_and_keeps_the_weights_fingerprint(onnx_encoder, torch_encoder):
    texts = ["python and sql", "data analysis", "a much longer sentence about welding work"]
    cosines = np.sum(onnx_encoder.encode(texts) * torch_encoder.encode(texts), axis=1)
    assert cosines.min() > 0.999
    assert onnx_encoder.agreement.mean_cosine >= 0.99
    assert onnx_encoder.agreement.probes == len(PROBE_TEXTS)
    assert onnx_encoder.fingerprint == torch_encoder.fingerprint
    assert onnx_encoder.cache_key != torch_encoder.cache_key
    record = json.loads(meta_path(onnx_encoder.export_dir, ONNX).read_text())
    assert record["source_fingerprint"] == torch_encoder.fingerprint and record["backend"] == ONNX


def test_fp32_flag_runs_the_sentence_transformers_model(onnx_encoder, torch_encoder):
    texts = ["python", "welding"]
    assert np.array_equal(onnx_encoder.encode(texts, fp32=True), torch_encoder.encode(texts))


def test_onnx_encode_keeps_order_and_handles_empty(onnx_encoder):
    texts = ["a very long text " * 5, "py", "medium text here"]
    rows = onnx_encoder.encode(texts)
    singles = np.vstack([onnx_encoder.encode([t]) for t in texts])
    assert np.allclose(rows, singles, atol=1e-5)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert onnx_encoder.encode([]).shape == (0, onnx_encoder.dimension)


def test_onnx_tokens_of_a_batch_are_those_of_each_text_alone(onnx_encoder, torch_encoder):
    """Texts of other lengths are padded together; each keeps its own rows, in order."""
    texts = ["a very long text about welding " * 4, "py", "medium text here", "sql"]
    vectors, tokens = onnx_encoder.encode_with_tokens(texts)
    for text, vector, rows in zip(texts, vectors, tokens, strict=True):
        (alone_vector,), (alone_rows,) = onnx_encoder.encode_with_tokens([text])
        assert rows.shape == alone_rows.shape and np.allclose(rows, alone_rows, atol=1e-4)
        assert np.allclose(vector, alone_vector, atol=1e-5)
        (torch_rows,) = torch_encoder.token_embeddings([text])
        assert rows.shape == torch_rows.shape and np.sum(rows * torch_rows, axis=1).min() > 0.999
    assert np.allclose(vectors, onnx_encoder.encode(texts), atol=1e-5)
    assert np.allclose(np.linalg.norm(tokens[1], axis=1), 1.0, atol=1e-5)
    empty_vectors, empty_tokens = onnx_encoder.encode_with_tokens([])
    assert empty_vectors.shape == (0, onnx_encoder.dimension) and empty_tokens == []


def test_existing_export_is_reused(onnx_encoder, tiny_sentence_encoder_dir):
    path = onnx_encoder.export_dir / MODEL_FILES[ONNX]
    before = path.stat().st_mtime_ns
    again = Encoder(tiny_sentence_encoder_dir, backend=ONNX, export_dir=onnx_encoder.export_dir)
    assert path.stat().st_mtime_ns == before
    assert again.agreement == onnx_encoder.agreement


def test_corrupted_export_is_refused(onnx_encoder, tiny_sentence_encoder_dir, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(onnx_encoder.export_dir, folder)
    (folder / MODEL_FILES[ONNX]).write_bytes(b"not an onnx model")
    with pytest.raises(BackendError, match="cannot load the ONNX export"):
        Encoder(tiny_sentence_encoder_dir, backend=ONNX, export_dir=folder)


def test_export_of_other_weights_is_refused(onnx_encoder, tiny_sentence_encoder_dir, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(onnx_encoder.export_dir, folder)
    record = json.loads(meta_path(folder, ONNX).read_text())
    meta_path(folder, ONNX).write_text(json.dumps(record | {"source_fingerprint": "0" * 16}))
    with pytest.raises(BackendError, match="is for backend 'onnx' of encoder '0000"):
        Encoder(tiny_sentence_encoder_dir, backend=ONNX, export_dir=folder)


def test_mismatched_export_with_a_forged_record_fails_the_agreement_check(
    other_model_dir, tiny_sentence_encoder_dir, torch_encoder, tmp_path
):
    other = Encoder(other_model_dir, backend=ONNX, export_dir=tmp_path / "other")
    folder = tmp_path / "forged"
    shutil.copytree(other.export_dir, folder)
    record = json.loads(meta_path(folder, ONNX).read_text())
    meta_path(folder, ONNX).write_text(json.dumps(record | {"source_fingerprint": torch_encoder.fingerprint}))
    with pytest.raises(BackendError, match="disagrees with the fp32 model"):
        Encoder(tiny_sentence_encoder_dir, backend=ONNX, export_dir=folder)


def test_missing_export_is_an_error_when_exporting_is_not_allowed(torch_encoder, tmp_path):
    from sea_core.backends import load_export

    with pytest.raises(BackendError, match="prebuild --backend onnx"):
        load_export(
            torch_encoder.model,
            ONNX,
            torch_encoder.fingerprint,
            tmp_path,
            torch_encoder.encode,
            export_if_missing=False,
        )


def test_agreement_summary_boundaries():
    rows = np.eye(3, dtype=np.float32)
    assert agreement(rows, rows).ok
    assert agreement(rows, rows).min_cosine == 1.0
    flipped = rows.copy()
    flipped[0] = -flipped[0]
    result = agreement(rows, flipped)
    assert not result.ok and result.min_cosine == -1.0
    assert not agreement(rows, rows[:2]).ok  # shapes differ


def test_bundle_records_and_serves_its_backend(onnx_encoder, tmp_path):
    taxonomy = Taxonomy([Skill("python"), Skill("welding"), Skill("data analysis")])
    folder = save_bundle(tmp_path / "bundle", onnx_encoder, taxonomy, model_version="1.0.0")
    assert read_pipeline_settings(folder)["encoder_backend"] == ONNX
    model_dir = folder / "embedding_model"
    assert (model_dir / "onnx" / MODEL_FILES[ONNX]).is_file()
    assert weights_fingerprint(model_dir) == Encoder(model_dir).fingerprint
    pipeline = load_bundle(folder)
    assert pipeline.encoder.backend == ONNX
    assert pipeline.encoder.export_dir == model_dir / "onnx"
    assert pipeline.rank("python and welding", k=3)


def test_export_folder_does_not_change_the_weights_fingerprint(tiny_sentence_encoder_dir, tmp_path):
    folder = tmp_path / "model"
    # the shared encoder folder may already hold an export (builds make one there): leave it out
    shutil.copytree(tiny_sentence_encoder_dir, folder, ignore=shutil.ignore_patterns("onnx"))
    before = weights_fingerprint(folder)
    (folder / "onnx").mkdir()
    (folder / "onnx" / "model.onnx.json").write_text("{}")
    assert weights_fingerprint(folder) == before


# --- long texts: token rows continue past the model's length ----------------------------------


def _pieces(encoder, text):
    return len(encoder.model.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def _text_of(encoder, n):
    """A text of exactly `n` word pieces (the tiny model's vocabulary is character-level)."""
    text = ("welding pipes and sql " * 40)[: n * 2]
    while _pieces(encoder, text) > n:
        text = text[:-1].rstrip()
    while _pieces(encoder, text) < n:
        text += "a"
    assert _pieces(encoder, text) == n
    return text


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_long_text_has_a_token_row_for_every_piece_and_its_vector_stays_truncated(
    backend, onnx_encoder, torch_encoder
):
    encoder = onnx_encoder if backend == "onnx" else torch_encoder
    room = encoder.model.max_seq_length - 2
    text = _text_of(encoder, room * 2 + 17)
    (vector,), (rows,) = encoder.encode_with_tokens([text])
    assert len(encoder.overflow_windows(text)) == 2
    assert abs(len(rows) - (room * 2 + 17)) <= 2  # a window re-tokenised may merge a cut piece
    assert np.allclose(vector, encoder.encode([text])[0], atol=1e-5)  # the vector: as `encode`
    (head,) = encoder._encode_with_tokens([text])[1]
    assert len(head) == room and np.allclose(rows[:room], head, atol=1e-5)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)


def test_overflow_windows_boundaries(torch_encoder):
    room = torch_encoder.model.max_seq_length - 2
    assert torch_encoder.overflow_windows("") == []
    assert torch_encoder.overflow_windows(_text_of(torch_encoder, room)) == []  # fits exactly
    (one,) = torch_encoder.overflow_windows(_text_of(torch_encoder, room + 1))
    assert _pieces(torch_encoder, one) == 1
    (_, rows) = torch_encoder.encode_with_tokens([_text_of(torch_encoder, room + 1), "sql"])
    assert len(rows[0]) == room + 1 and len(rows[1]) == 3  # the short text of the batch keeps its own


def test_late_interaction_sees_a_skill_named_only_past_the_models_length(torch_encoder):
    # regression: the text's token rows were cut at the model's length, so a title named only in
    # a long text's tail found no counterpart there
    from sea_core.token_match import TokenMatcher

    room = torch_encoder.model.max_seq_length - 2
    filler = _text_of(torch_encoder, room + 40).replace("welding", "joining").replace("sql", "xyz")
    text = filler + " kubernetes"
    matcher = TokenMatcher(["kubernetes"], torch_encoder.token_embeddings)
    (rows,) = torch_encoder.token_embeddings([text])
    (head,) = torch_encoder._encode_with_tokens([text])[1]
    (alone,) = torch_encoder.token_embeddings(["kubernetes"])
    full, cut = matcher.scores(text, [0], rows)[0], matcher.scores(text, [0], head)[0]
    assert full > cut + 0.05, (full, cut)
    assert full == pytest.approx(matcher.scores("kubernetes", [0], alone)[0], abs=0.35)


def test_a_tokenizer_without_offsets_leaves_a_long_text_truncated(torch_encoder, monkeypatch):
    room = torch_encoder.model.max_seq_length - 2
    text = _text_of(torch_encoder, room + 30)
    assert torch_encoder.overflow_windows(text)  # the fast tokenizer gives offsets
    # a slow tokenizer: `is_fast` is a read-only property of the class (restored after the test)
    monkeypatch.setattr(type(torch_encoder.model.tokenizer), "is_fast", property(lambda self: False))
    assert torch_encoder.overflow_windows(text) == []
