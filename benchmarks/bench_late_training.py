"""The bundled encoder trained for late interaction on the taxonomy alone, its max-sim scored as
a variant of the shipped matcher's (numbers printed, nothing asserted; tried and not kept).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_late_training.py [--steps 1000]
        [--groups 12000] [--temperature 0.05] [--repeats 15]

ConTeXT-match's gain comes from training its token-level attention; the shipped max-sim uses the
bundled MiniLM's token outputs untrained for it. Here the same encoder is trained on the objective
the matcher serves: for a query, each skill title scores the mean over its tokens of their best
cosine with the query's tokens (max-sim), and softmax cross-entropy at `--temperature` puts the
query's own skill above its 7 hard negatives and every other title of the step (8 queries, 64
titles: in-batch negatives). The queries are `bench_cross_encoder.py`'s synthetic postings made of
the taxonomy (no benchmark data: every dev sentence is unseen), the optimiser `finetune.optimise`
(learning rate 2e-5, 10 % warm-up), the model made once and cached under
`.sea/cache/bench_late_training_STEPS_GROUPS_TEMPERATURE`. Scored like `bench_matcher_variants.py`:
the trained model's title max-sim in place of the shipped one (its weight picked per fold among
0.7, 0.5 and 1.0: compare with "shipped max-sim, its weight picked per fold"), and added to the
shipped score with a weight; the time includes the second encoder pass over the text that a
served version would need (or the whole matcher moved to the trained encoder).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_cross_encoder import Group, negatives_of, run_trained_variants, train_steps
from bench_matcher_variants import (
    SHIPPED_MAXSIM_PICKED,
    Bench,
    Variant,
    replaced,
    second_maxsim,
    second_opinion,
)

from sea_core.backends import TORCH
from sea_core.cli import cache_root
from sea_core.encoder import DEFAULT_MODEL, Encoder, resolve_model_path
from sea_core.finetune import seed_everything

QUERIES_PER_STEP = 8


def train_late_interaction(
    bench: Bench, groups: list[Group], steps: int, temperature: float, folder: Path
) -> None:
    """Train the bundled encoder's token outputs for max-sim and save it as a sentence encoder."""
    import torch
    from sentence_transformers import SentenceTransformer

    seed_everything(0)
    rng = random.Random(0)
    model = SentenceTransformer(resolve_model_path(DEFAULT_MODEL), device="cpu")
    transformer = model[0].auto_model
    tokenizer = model.tokenizer
    transformer.train()
    order = list(range(len(groups)))
    rng.shuffle(order)
    draws = iter(order * (steps * QUERIES_PER_STEP // len(order) + 1))

    def token_rows(texts: list[str]) -> tuple[Any, Any]:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        hidden = torch.nn.functional.normalize(transformer(**batch).last_hidden_state, dim=-1)
        mask = batch["attention_mask"].clone()
        mask[:, 0] = 0  # [CLS]
        mask[torch.arange(len(texts)), batch["attention_mask"].sum(1) - 1] = 0  # [SEP]
        return hidden, mask.bool()

    def step_loss() -> Any:
        queries, titles, positives = [], [], []
        for _ in range(QUERIES_PER_STEP):
            group = groups[next(draws)]
            queries.append(group.query)
            positives.append(len(titles))
            rows = (rng.choice(group.positives), *negatives_of(group, rng, len(bench.titles)))
            titles.extend(bench.titles[row] for row in rows)
        query, query_mask = token_rows(queries)  # (q, Lq, d)
        title, title_mask = token_rows(titles)  # (t, Lt, d)
        sims = torch.einsum("qad,tbd->qtba", query, title)  # (q, t, Lt, Lq)
        sims = sims.masked_fill(~query_mask[:, None, None, :], -2.0).max(dim=-1).values
        sims = (sims * title_mask[None]).sum(-1) / title_mask.sum(-1)[None]  # (q, t) max-sim
        return torch.nn.functional.cross_entropy(sims / temperature, torch.tensor(positives))

    train_steps(transformer.named_parameters(), step_loss, steps, 2e-5)
    transformer.eval()
    model.save(str(folder))


def variants(tuned: Encoder, bench: Bench) -> tuple[Variant, ...]:
    """The trained model's max-sim in place of the shipped one (beside the shipped max-sim under
    the same per-fold pick), and added to the shipped score: the trained model as `bench`'s
    second encoder."""
    bench.use_second_encoder(tuned)
    return (
        SHIPPED_MAXSIM_PICKED,
        Variant(
            "max-sim of the encoder trained for it on taxonomy postings",
            (0.7, 0.5, 1.0),
            replaced(second_maxsim),
        ),
        Variant(
            "+ that max-sim (weight)",
            tuple((w, 0.0) for w in (0.0, 0.1, 0.2, 0.35, 0.5, 0.7)),
            second_opinion,
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--temperature", type=float, default=0.05)
    run_trained_variants(
        parser,
        lambda args: cache_root() / f"bench_late_training_{args.steps}_{args.groups}_{args.temperature:g}",
        lambda bench, groups, args, folder: train_late_interaction(
            bench, groups, args.steps, args.temperature, folder
        ),
        lambda folder, bench: variants(Encoder(folder, backend=TORCH), bench),
    )


if __name__ == "__main__":
    main()
