"""The SageMaker handler's `model_fn` on a real bundle of the tiny encoder (the rest of the
handler is unit-tested with a fake pipeline in tests/unit/test_handler.py)."""

from mlops.entrypoints.handler import model_fn
from tests.integration.serving_support import make_bundle


def test_model_fn_loads_a_bundle(tmp_path, tiny_sentence_encoder_dir):
    make_bundle(tmp_path / "b", tiny_sentence_encoder_dir, "4.5.6")
    model = model_fn(str(tmp_path / "b"))
    assert model.model_version == "4.5.6"
    assert len(model.taxonomy) == 10
