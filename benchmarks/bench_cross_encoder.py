"""A cross-encoder re-ranker trained on the taxonomy alone, scored as a variant of the shipped
matcher (numbers printed, nothing asserted; tried and not kept).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_cross_encoder.py [--steps 1500]
        [--groups 12000] [--repeats 15]

No benchmark data trains it, so every dev sentence is unseen. Training queries are synthetic
postings made of the taxonomy: one to three skills' names (the title or, three times in four, an
alternative label, `labels.skill_names`) in a posting template ("experience with {x}", "you will
{x}", ...), or a skill's first description sentence. Each query's positive is one of its skills'
titles; its 7 negatives come from the bundled bi-encoder's top 30 for the query, leaving out the
query's own skills and their near-duplicates (skill-vector cosine >= 0.85). The model is the
bundled MiniLM's weights with a one-logit head over (text, title) pairs, trained with softmax
cross-entropy over each query's 8 titles (`finetune.optimise`, learning rate 5e-5, 10 % warm-up),
made once and cached under `.sea/cache/bench_cross_encoder_STEPS_GROUPS` (1,500 steps: 28 to 42
minutes on 2 cores). Scored like `bench_matcher_variants.py`: the sigmoid of its logit for each head
candidate (text, title) added to the shipped score with a weight picked per fold, and the
cross-encoder's own order (the shipped score as a tie-break weight); the time includes its pass
over the 40 head pairs of the 250-word text.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from bench_core import JOB_250_WORDS
from bench_matcher_variants import (
    DEPTH,
    Bench,
    Item,
    Variant,
    baseline,
    bench_items,
    reorder,
    shipped_score,
    variant_row,
)
from machine import machine_info

from sea_core.backends import ONNX
from sea_core.cli import cache_root
from sea_core.encoder import DEFAULT_MODEL, resolve_model_path
from sea_core.finetune import first_sentence, optimise, seed_everything
from sea_core.labels import skill_names

TEMPLATES = (
    "{x}",
    "experience with {x}",
    "experience in {x}",
    "knowledge of {x}",
    "you will {x}",
    "ability to {x}",
    "strong {x} skills",
    "proficiency in {x}",
    "responsible for {x}",
    "{x} is a plus",
    "we are looking for someone who can {x}",
    "familiarity with {x}",
    "hands-on experience of {x}",
    "you have {x} experience",
    "must be able to {x}",
    "good understanding of {x}",
    "your tasks: {x}",
    "you know how to {x}",
)
NEGATIVES = 7
GROUPS_PER_STEP = 8
NEAR_DUPLICATE = 0.85


@dataclass(frozen=True)
class Group:
    """One training query: its text, its skills' rows (positives) and hard-negative rows."""

    query: str
    positives: tuple[int, ...]
    negatives: tuple[int, ...]


def synthetic_groups(bench: Bench, n: int, seed: int = 7) -> list[Group]:
    """`n` synthetic posting queries from the taxonomy with their positives and mined negatives."""
    rng = random.Random(seed)
    skills = list(bench.taxonomy)
    names = skill_names(bench.taxonomy)
    drafts: list[tuple[str, list[int]]] = []
    for _ in range(n):
        if rng.random() < 0.25:
            row = rng.randrange(len(skills))
            if skills[row].description:
                drafts.append((first_sentence(skills[row].description), [row]))
            continue
        rows = rng.sample(range(len(skills)), rng.choice((1, 1, 2, 2, 3)))
        parts = []
        for r in rows:
            options = names[r]
            name = rng.choice(options[1:]) if len(options) > 1 and rng.random() < 0.75 else options[0]
            name = bench.titles[r] if name == skills[r].title else name
            parts.append(name.lower() if rng.random() < 0.7 else name)
        joined = (
            parts[0]
            if len(parts) == 1
            else ", ".join(parts[:-1]) + rng.choice((" and ", " or ", ", ")) + parts[-1]
        )
        query = rng.choice(TEMPLATES).format(x=joined)
        drafts.append((query[0].upper() + query[1:] + "." if rng.random() < 0.3 else query, rows))
    vectors = bench.encoder.encode([q for q, _ in drafts])
    groups = []
    for (query, rows), sims in zip(drafts, vectors @ bench.matrix.T, strict=True):
        near = bench.matrix[rows]
        negatives = tuple(
            int(t)
            for t in np.argsort(-sims)[:30]
            if int(t) not in rows and float((near @ bench.matrix[t]).max()) < NEAR_DUPLICATE
        )
        groups.append(Group(query, tuple(rows), negatives))
    return groups


def negatives_of(group: Group, rng: random.Random, skills: int) -> list[int]:
    """`NEGATIVES` rows for a training step: drawn from the group's mined negatives, topped up
    with random skills (never a positive) when it has fewer."""
    picked = rng.sample(group.negatives, min(NEGATIVES, len(group.negatives)))
    while len(picked) < NEGATIVES:
        row = rng.randrange(skills)
        if row not in group.positives and row not in picked:
            picked.append(row)
    return picked


def train_cross_encoder(bench: Bench, groups: list[Group], steps: int, folder: Path) -> None:
    """Train and save the cross-encoder (`steps` steps of `GROUPS_PER_STEP` queries)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    seed_everything(0)
    rng = random.Random(0)
    path = resolve_model_path(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    model.train()
    order = list(range(len(groups)))
    rng.shuffle(order)
    draws = iter(order * (steps * GROUPS_PER_STEP // len(order) + 1))

    def step_loss() -> Any:
        texts, titles = [], []
        for _ in range(GROUPS_PER_STEP):
            group = groups[next(draws)]
            for row in (rng.choice(group.positives), *negatives_of(group, rng, len(bench.titles))):
                texts.append(group.query)
                titles.append(bench.titles[row])
        batch = tokenizer(texts, titles, padding=True, truncation=True, max_length=96, return_tensors="pt")
        logits = model(**batch).logits.view(GROUPS_PER_STEP, NEGATIVES + 1)
        return torch.nn.functional.cross_entropy(logits, torch.zeros(GROUPS_PER_STEP, dtype=torch.long))

    train_steps(model.named_parameters(), step_loss, steps, 5e-5)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def train_steps(
    named_parameters: Any, step_loss: Callable[[], Any], steps: int, learning_rate: float
) -> None:
    """`steps` steps of `finetune.optimise` on `step_loss` (10 % warm-up, decay 0.01), progress
    every 100 steps and the time and final loss at the end."""
    started = time.perf_counter()
    summary = optimise(
        list(named_parameters),
        [step_loss] * steps,
        learning_rate,
        0.1,
        0.01,
        lambda share, message: (
            print(f"  {message}, {time.perf_counter() - started:.0f} s", flush=True)
            if round(share * steps) % 100 == 0
            else None
        ),
    )
    print(f"trained in {time.perf_counter() - started:.0f} s, final loss {summary['final_loss']:.3f}")


class CrossEncoder:
    """The trained model scoring (text, title) pairs: sigmoid of its logit."""

    def __init__(self, folder: Path) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder).eval()

    def scores(self, text: str, titles: list[str]) -> np.ndarray:
        with self.torch.no_grad():
            batch = self.tokenizer(
                [text] * len(titles),
                titles,
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            return self.torch.sigmoid(self.model(**batch).logits[:, 0]).numpy()


def variants(cross: CrossEncoder) -> tuple[Variant, Variant]:
    """The cross-encoder added to the shipped score, and its own order over the head."""

    def head_scores(bench: Bench, item: Item) -> np.ndarray:
        if "cross" not in item.extra:
            item.extra["cross"] = cross.scores(item.text, [bench.titles[c.row] for c in item.pool[:DEPTH]])
        return item.extra["cross"]

    def added(bench: Bench, item: Item, weight: object) -> list:
        return reorder(item.pool, shipped_score(item.features) + float(weight) * head_scores(bench, item))  # type: ignore[arg-type]

    def own(bench: Bench, item: Item, weight: object) -> list:
        return reorder(item.pool, head_scores(bench, item) + float(weight) * shipped_score(item.features))  # type: ignore[arg-type]

    return (
        Variant("+ cross-encoder on taxonomy postings (weight)", (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0), added),
        Variant("cross-encoder's order (+ shipped score x w)", (0.0, 0.5, 1.0), own),
    )


def run_trained_variants(
    parser: argparse.ArgumentParser,
    folder_of: Callable[[argparse.Namespace], Path],
    train: Callable[[Bench, list[Group], argparse.Namespace, Path], None],
    variants_of: Callable[[Path, Bench], Sequence[Variant]],
) -> None:
    """The run of a benchmark whose model trains on synthetic postings: `parser` (with its own
    `--steps`) gains `--groups`, `--folds` and `--repeats`; the model in `folder_of(args)` is
    trained when absent (`train`), then each of `variants_of(folder, bench)` prints its row."""
    parser.add_argument("--groups", type=int, default=12000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"machine: {machine_info(with_torch=True)}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    bench = Bench(ONNX, False)
    folder = folder_of(args)
    if not (folder / "config.json").is_file():
        groups = synthetic_groups(bench, args.groups)
        print(
            f"{len(groups)} synthetic queries, e.g. {groups[0].query!r} -> {bench.titles[groups[0].positives[0]]!r}"
        )
        folder.mkdir(parents=True, exist_ok=True)
        print(f"training, {args.steps} steps (cached in {folder})")
        train(bench, groups, args, folder)
    items = bench_items(bench)
    base = baseline(bench, items)
    timing = bench.shipped.encode(JOB_250_WORDS)
    for variant in variants_of(folder, bench):
        print(variant_row(bench, items, base, variant, timing, args.folds, args.repeats), flush=True)
    print("(tech / house: held-out MRR / R-P@5 / Jaccard; MRR gain: paired, over the shipped matcher)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1500)
    run_trained_variants(
        parser,
        lambda args: cache_root() / f"bench_cross_encoder_{args.steps}_{args.groups}",
        lambda bench, groups, args, folder: train_cross_encoder(bench, groups, args.steps, folder),
        lambda folder, _: variants(CrossEncoder(folder)),
    )


if __name__ == "__main__":
    main()
