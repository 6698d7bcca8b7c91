"""Fine-tuning a sentence encoder on (anchor, candidate, label) pairs.

sentence-transformers 6.2's `fit` and `SentenceTransformerTrainer` need the `datasets` (and
`accelerate`) packages, which SEA does not install; this is the same loop `old_fit` runs (its
loss modules, AdamW, linear warm-up schedule, gradient clipping) written out so that it reports
progress, is seeded and needs nothing more. GPU when available (`sea_core.encoder.pick_device`).
"""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Callable

from sea_core.encoder import pick_device, resolve_model_path

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


def _seed(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def fine_tune(start: str | Path, train: list[dict[str, Any]], config: BuildConfig,
              output_dir: str | Path, progress: Progress | None = None) -> dict[str, Any]:
    """Fine-tune the encoder at `start` (a folder or bundled-encoder name) on `train` pairs with
    `config.loss` and save it to `output_dir`; returns a summary (steps, final loss, seconds,
    device). MultipleNegativesRankingLoss uses the positive pairs only."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import batch_to_device
    from transformers import get_linear_schedule_with_warmup

    started = time.perf_counter()
    _seed(config.seed)
    device = pick_device(config.device)
    model = SentenceTransformer(resolve_model_path(start), device=device)
    loss_model = _loss(config.loss, model)
    examples = [p for p in train if p["label"] == 1] if config.loss == "MultipleNegativesRankingLoss" \
        else list(train)
    if len(examples) < 2:
        raise ValueError(f"too few training pairs ({len(examples)}) for {config.loss}")
    batches_per_epoch = (len(examples) + config.batch_size - 1) // config.batch_size
    total_steps = batches_per_epoch * config.epochs
    no_decay = ("bias", "LayerNorm.bias", "LayerNorm.weight")
    named = list(loss_model.named_parameters())
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in named if not any(nd in n for nd in no_decay)],
          "weight_decay": config.weight_decay},
         {"params": [p for n, p in named if any(nd in n for nd in no_decay)], "weight_decay": 0.0}],
        lr=config.learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * config.warmup_ratio),
                                                total_steps)
    rng = random.Random(config.seed)
    step, last_loss = 0, float("nan")
    loss_model.to(model.device)
    loss_model.train()
    for epoch in range(config.epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        for offset in range(0, len(order), config.batch_size):
            batch = [examples[i] for i in order[offset:offset + config.batch_size]]
            if len(batch) < 2 and config.loss == "MultipleNegativesRankingLoss":
                continue
            features = [batch_to_device(model.preprocess([p["anchor"] for p in batch]), model.device),
                        batch_to_device(model.preprocess([p["candidate"] for p in batch]), model.device)]
            labels = torch.tensor([float(p["label"]) for p in batch], device=model.device)
            value = loss_model(features, labels)
            value.backward()
            torch.nn.utils.clip_grad_norm_(loss_model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            last_loss = float(value.detach().cpu())
            if progress and (step % 10 == 0 or step == total_steps):
                progress(step / total_steps, f"epoch {epoch + 1}/{config.epochs}, step {step}/"
                         f"{total_steps}, loss {last_loss:.4f}")
    model.eval()
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    model.save(str(output_dir))
    return {"steps": step, "train_pairs": len(examples), "final_loss": last_loss,
            "seconds": round(time.perf_counter() - started, 3), "device": str(model.device)}
