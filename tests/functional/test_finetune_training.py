"""Contrastive fine-tuning of the tiny encoder (sea_core.finetune): a seeded run trains, saves
and repeats; no training data is a clear error. The training rows and batches are unit-tested in
tests/unit/test_finetune.py."""

import pytest

from sea_core.finetune import FineTuneParams, ReviewedText, fine_tune_contrastive
from tests.unit.test_finetune import ACC, DA, PY, SQL, TAX, WELD


def test_a_seeded_run_trains_saves_and_records_its_hyperparameters(
    tiny_sentence_encoder_dir, tmp_path, capsys
):
    reviews = [
        ReviewedText("python and sql", (PY, SQL), rejected=(WELD,)),
        ReviewedText("accounting team", (ACC,), rejected=(DA,)),
    ]
    params = FineTuneParams(max_steps=3, batch_size=4, taxonomy_pairs=5, device="cpu")
    result = fine_tune_contrastive(tiny_sentence_encoder_dir, reviews, TAX, tmp_path / "m", params)
    assert result.steps == 3 and (tmp_path / "m" / "config.json").exists()
    assert result.review_examples == 3 and result.hard_negatives == 3
    assert result.hyperparameters["max_steps"] == 3 and result.hyperparameters["seed"] == 42
    again = fine_tune_contrastive(tiny_sentence_encoder_dir, reviews, TAX, tmp_path / "m2", params)
    assert again.final_loss == pytest.approx(result.final_loss, rel=1e-5)
    err = capsys.readouterr().err  # a build's log: its own progress lines, no loading bars
    assert "Loading weights" not in err and "Writing model shards" not in err


def test_no_data_is_a_clear_error(tiny_sentence_encoder_dir, tmp_path):
    with pytest.raises(ValueError, match="too little training data"):
        fine_tune_contrastive(
            tiny_sentence_encoder_dir, [], TAX, tmp_path / "m", FineTuneParams(taxonomy_pairs=0)
        )
