"""Fine-tuning a sentence encoder on (anchor, candidate, label) pairs.

sentence-transformers 6.2's `fit` and `SentenceTransformerTrainer` need the `datasets` (and
`accelerate`) packages, which SEA does not install; the batches go through the project's one
training loop, `sea_core.finetune.run_training` (the loop `old_fit` runs, written out so that it
reports progress, is seeded and needs nothing more). GPU when available
(`sea_core.encoder.pick_device`).
"""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Callable

from sea_core.encoder import pick_device, resolve_model_path
from sea_core.finetune import TrainExample, run_training, seed_everything

from .config import BuildConfig

Progress = Callable[[float, str], None]


def _loss(name: str, model: Any) -> Any:
    from sentence_transformers.sentence_transformer import losses

    if name == "CosineSimilarityLoss":
        return losses.CosineSimilarityLoss(model)
    if name == "ContrastiveLoss":
        return losses.ContrastiveLoss(model)
    if name == "MultipleNegativesRankingLoss":
        return losses.MultipleNegativesRankingLoss(model)
    raise ValueError(f"unknown loss {name!r}")


def fine_tune(start: str | Path, train: list[dict[str, Any]], config: BuildConfig,
              output_dir: str | Path, progress: Progress | None = None) -> dict[str, Any]:
    """Fine-tune the encoder at `start` (a folder or bundled-encoder name) on `train` pairs with
    `config.loss` and save it to `output_dir`; returns a summary (steps, final loss, seconds,
    device). MultipleNegativesRankingLoss uses the positive pairs only."""
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    seed_everything(config.seed)
    device = pick_device(config.device)
    model = SentenceTransformer(resolve_model_path(start), device=device)
    loss_model = _loss(config.loss, model)
    examples = [p for p in train if p["label"] == 1] if config.loss == "MultipleNegativesRankingLoss" \
        else list(train)
    if len(examples) < 2:
        raise ValueError(f"too few training pairs ({len(examples)}) for {config.loss}")
    rng = random.Random(config.seed)
    batches = []
    for _ in range(config.epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        for offset in range(0, len(order), config.batch_size):
            batch = [TrainExample((examples[i]["anchor"], examples[i]["candidate"]),
                                  float(examples[i]["label"]))
                     for i in order[offset:offset + config.batch_size]]
            if len(batch) >= 2 or config.loss != "MultipleNegativesRankingLoss":
                batches.append(batch)
    summary = run_training(model, loss_model, batches, config.learning_rate, config.warmup_ratio,
                           config.weight_decay, progress, epochs=config.epochs)
    step, last_loss = summary["steps"], summary["final_loss"]
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    model.save(str(output_dir))
    return {"steps": step, "train_pairs": len(examples), "final_loss": last_loss,
            "seconds": round(time.perf_counter() - started, 3), "device": str(model.device)}
