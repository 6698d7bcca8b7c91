"""Retraining the encoder of a build: `sea_core.finetune.fine_tune_contrastive` (the project's
one training loop) on the reviewed TRAINING slice only, never the hold-out: (phrase or text ->
confirmed skill) positives, in-batch negatives, the reviewers' rejected skills as hard
negatives, and taxonomy self-supervision mixed in. Seeded; the hyper-parameters come from the
build configuration and are returned for the records. GPU when available
(`sea_core.encoder.pick_device`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sea_core.finetune import FineTuneParams, fine_tune_contrastive
from sea_core.taxonomy import Taxonomy

from .config import BuildConfig
from .reviews import ReviewedRequest

Progress = Callable[[float, str], None]


def fine_tune_params(config: BuildConfig) -> FineTuneParams:
    """The fine-tuning settings of a build configuration."""
    return FineTuneParams(
        max_steps=config.max_steps,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_ratio=config.warmup_ratio,
        weight_decay=config.weight_decay,
        scale=config.loss_scale,
        seed=config.seed,
        taxonomy_pairs=config.taxonomy_pairs,
        review_repeats=config.review_repeats,
        device=config.device,
    )


def fine_tune(
    start: str | Path,
    train: Sequence[ReviewedRequest],
    taxonomy: Taxonomy,
    config: BuildConfig,
    output_dir: str | Path,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fine-tune the encoder at `start` (a folder or bundled-encoder name) on the reviewed
    training slice `train` plus taxonomy self-supervision and save it to `output_dir`; returns
    a summary (steps, data sizes, final loss, seconds, device, hyper-parameters)."""
    result = fine_tune_contrastive(
        start, [r.training_text() for r in train], taxonomy, output_dir, fine_tune_params(config), progress
    )
    return {
        "steps": result.steps,
        "reviewed_texts": len(train),
        "review_examples": result.review_examples,
        "taxonomy_examples": result.taxonomy_examples,
        "hard_negatives": result.hard_negatives,
        "final_loss": result.final_loss,
        "seconds": result.seconds,
        "device": result.device,
        "hyperparameters": result.hyperparameters,
    }
