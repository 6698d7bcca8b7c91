"""Late interaction on the development benchmark, scored on held-out folds, and what it costs
(numbers printed, nothing asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_late_interaction.py [--folds 5] [--repeats 15]
        [--backend onnx]

Each dev sentence (`../shared/data/benchmark/*_validation_annotations.csv`) is ranked by the
matcher before late interaction (the shipped matcher with its re-ranker off); its top `DEPTH`
candidates are re-ordered by confidence + w x a max-sim score (`sea_core.token_match`, names
without their parenthetical qualifier) + e x exact name (a phrase of the text is one of the
skill's names). Variants:
- title: the title's max-sim, e = 0;
- best name: the best max-sim of all the skill's names (title and alternative labels), e = 0;
- title + best name: the mean of the two, e = 0;
- title + exact name (shipped): the title's max-sim and e from `EXACT_WEIGHTS`.
Sentences fall in fold sha256(sentence) mod k; the weights of each fold are those with the best
MRR on the other folds, and the fold is scored with them. Printed per variant and split:
held-out MRR and R-P@5 against the matcher before, and the weights each fold picked; then the
shipped weights scored on all of dev.

Cost: the median time of `extract` on bench_core's 250-word job text with and without the
re-ranker (titles' tokens cached, and encoded anew each run), the mean time a text over distinct
250-word texts made of dev sentences with the title cache empty at the start of each pass
(median of `PASSES` alternating passes), and the memory of the title cache after the whole dev
benchmark.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from bench_core import DEV_SPLITS, JOB_250_WORDS, dev_path, distinct_texts
from machine import machine_info

from sea_core.backends import BACKENDS, ONNX
from sea_core.embedding_cache import EmbeddingCache
from sea_core.encoder import Encoder
from sea_core.evaluate import load_benchmark
from sea_core.labels import skill_names
from sea_core.matching import (
    LATE_INTERACTION_DEPTH,
    LATE_INTERACTION_EXACT_WEIGHT,
    LATE_INTERACTION_WEIGHT,
    RerankSettings,
)
from sea_core.pipeline import Pipeline
from sea_core.quality import ranking_scores
from sea_core.taxonomy import bundled_taxonomy
from sea_core.token_match import TokenMatcher

DEPTH = LATE_INTERACTION_DEPTH
WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5)
EXACT_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2)
SHIPPED = "title + exact name (shipped)"
PASSES = 3  # passes over the distinct texts per matcher
#: variant name -> (its max-sim score from (title, best name), the exact-name weights it tries)
VARIANTS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], tuple[float, ...]]] = {
    "title": (lambda title, best: title, (0.0,)),
    "best name": (lambda title, best: best, (0.0,)),
    "title + best name": (lambda title, best: (title + best) / 2, (0.0,)),
    SHIPPED: (lambda title, best: title, EXACT_WEIGHTS),
}


@dataclass(frozen=True)
class Ranked:
    """One sentence: its split and gold skills, the ranking before late interaction and the
    max-sims of its head."""

    split: str
    sentence: str
    gold: frozenset[str]
    ids: list[str]  # skill ids best first
    confidence: np.ndarray  # (DEPTH,) confidences of the head
    title: np.ndarray  # (DEPTH,) title max-sim of the head
    best: np.ndarray  # (DEPTH,) best-name max-sim of the head
    exact: np.ndarray  # (DEPTH,) 1.0 where a phrase of the sentence is one of the skill's names


def reranked(item: Ranked, variant: str, weights: tuple[float, float]) -> list[str]:
    """The ranking with its head re-ordered by confidence + w x the variant's max-sim score +
    e x exact name, for `weights` (w, e)."""
    head = len(item.confidence)
    weight, exact = weights
    score = item.confidence + weight * VARIANTS[variant][0](item.title, item.best) + exact * item.exact
    order = np.argsort(-score, kind="stable")
    return [item.ids[i] for i in order] + item.ids[head:]


def scores(items: list[Ranked], variant: str, weights: tuple[float, float]) -> tuple[float, float]:
    """Mean MRR and R-P@5 of `items` re-ranked."""
    if not items:
        return 0.0, 0.0
    rows = [ranking_scores(reranked(item, variant, weights), item.gold) for item in items]
    return float(np.mean([r["mrr"] for r in rows])), float(np.mean([r["r_precision@5"] for r in rows]))


def median_ms(run: Callable[[], object], repeats: int, before: Callable[[], None] = lambda: None) -> float:
    """Median wall time of `run` in ms over `repeats` runs (`before` each, untimed)."""
    times = []
    for _ in range(repeats):
        before()
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=ONNX,
        help="encoder backend (default: the one the service runs)",
    )
    args = parser.parse_args()
    print(f"machine: {machine_info(with_torch=True)}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    taxonomy = bundled_taxonomy()
    encoder = Encoder(backend=args.backend)
    print(f"encoder backend: {args.backend}")
    shipped = Pipeline(encoder, taxonomy, phrase_cache=EmbeddingCache(0))
    before = shipped.with_match(replace(shipped.config.match, rerank=RerankSettings()))
    context = shipped.rerank_context()
    matcher = context.tokens
    assert matcher is not None, "the shipped matcher uses late interaction"
    names = skill_names(taxonomy)
    flat = [name for row in names for name in row]  # every name as a title of its own
    first = np.cumsum([0] + [len(row) for row in names])
    name_matcher = TokenMatcher(flat, encoder.token_embeddings, max_skills=len(flat))
    ids = shipped.index.skill_ids
    items: list[Ranked] = []
    for split in DEV_SPLITS:
        if not dev_path(split).is_file():
            continue
        for item in load_benchmark(dev_path(split), taxonomy):
            _, candidates = before.candidates(item.sentence)
            head = candidates[:DEPTH]
            rows = [c.row for c in head]
            (tokens,) = encoder.token_embeddings([item.sentence])
            named = set()
            for span in before.span_extractor.extract(item.sentence):
                named.update(context.exact.rows(span.text))
            best = [name_matcher.scores("", list(range(first[r], first[r + 1])), tokens).max() for r in rows]
            items.append(
                Ranked(
                    split,
                    item.sentence,
                    item.gold,
                    [ids[c.row] for c in candidates],
                    np.asarray([c.confidence for c in head]),
                    matcher.scores(item.sentence, rows, tokens),
                    np.asarray(best),
                    np.asarray([1.0 if r in named else 0.0 for r in rows]),
                )
            )

    def fold_of(item: Ranked) -> int:
        return int(hashlib.sha256(item.sentence.encode("utf-8")).hexdigest()[:12], 16) % args.folds

    print(f"{len(items)} sentences, {args.folds} folds, re-ranking the top {DEPTH}")
    for variant, (_, exact_weights) in VARIANTS.items():
        grid = list(itertools.product(WEIGHTS, exact_weights))
        picked = []
        held: dict[str, list[tuple[float, float]]] = {s: [] for s in DEV_SPLITS}
        base: dict[str, list[tuple[float, float]]] = {s: [] for s in DEV_SPLITS}
        for fold in range(args.folds):
            train = [i for i in items if fold_of(i) != fold]
            weights = max(grid, key=lambda we: scores(train, variant, we)[0])
            picked.append(weights if len(exact_weights) > 1 else weights[0])
            for one in items:
                if fold_of(one) == fold:
                    held[one.split].append(scores([one], variant, weights))
                    base[one.split].append(scores([one], variant, (0.0, 0.0)))
        cells = []
        for split in DEV_SPLITS:
            if held[split]:
                mrr, rp = np.mean(held[split], axis=0)
                base_mrr, base_rp = np.mean(base[split], axis=0)
                cells.append(f"{split} MRR {mrr:.3f} ({base_mrr:.3f}) R-P@5 {rp:.3f} ({base_rp:.3f})")
        print(f"{variant:28} " + "; ".join(cells) + f"; weights picked {picked}")
    print("(in brackets: the matcher before late interaction)")
    shipped_weights = (LATE_INTERACTION_WEIGHT, LATE_INTERACTION_EXACT_WEIGHT)
    cells = []
    for split in DEV_SPLITS:
        mrr, rp = scores([i for i in items if i.split == split], SHIPPED, shipped_weights)
        cells.append(f"{split} MRR {mrr:.3f} R-P@5 {rp:.3f}")
    print(f"shipped weights {shipped_weights} on all of dev: " + "; ".join(cells))
    print(
        f"title cache after the dev benchmark: {matcher.cached_skills} skills, "
        f"{matcher.cached_bytes / 2**20:.2f} MiB (bounded to {matcher.max_skills} skills)"
    )

    text = JOB_250_WORDS
    before_ms = median_ms(lambda: before.extract(text), args.repeats)
    warm_ms = median_ms(lambda: shipped.extract(text), args.repeats)
    cold_ms = median_ms(lambda: shipped.extract(text), args.repeats, matcher.clear)
    print(
        f"250-word text, median of {args.repeats} (phrase cache off): before {before_ms:.0f} ms; "
        f"with late interaction {warm_ms:.0f} ms ({warm_ms - before_ms:+.0f}) with its titles cached, "
        f"{cold_ms:.0f} ms ({cold_ms - before_ms:+.0f}) with its titles encoded anew"
    )
    texts = distinct_texts(taxonomy)
    per_text: dict[str, list[float]] = {"before": [], "late interaction": []}
    for _ in range(PASSES):  # alternating passes, so a load change hits both alike
        matcher.clear()
        for name, pipeline in (("before", before), ("late interaction", shipped)):
            started = time.perf_counter()
            for one in texts:
                pipeline.extract(one)
            per_text[name].append((time.perf_counter() - started) * 1000 / max(1, len(texts)))
    medians = {name: statistics.median(values) for name, values in per_text.items()}
    print(
        f"{len(texts)} distinct 250-word texts, title cache empty at the start, median of {PASSES} "
        f"passes: before {medians['before']:.0f} ms a text, with late interaction "
        f"{medians['late interaction']:.0f} ms"
    )


if __name__ == "__main__":
    main()
