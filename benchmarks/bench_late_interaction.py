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
- re-weighted (tried, not kept): the head re-ordered by a x its best span similarity (any phrase
  of the sentence; the sentence's own when it has none) + the text similarity + w x title max-sim
  + e x exact name, instead of confidence + ...
Sentences fall in fold sha256(sentence) mod k; the weights of each fold are those with the best
MRR on the other folds, and the fold is scored with them. Printed per variant and split:
held-out MRR and R-P@5 against the matcher before, and the weights each fold picked; then the
shipped weights scored on all of dev.

Pool and depth: the shipped weights over the top `depth` of a pool with `text_top_n` whole-text
neighbours (`POOLS`; (10, 20) is matcher 3, (30, 40) matcher 4, shipped): dev MRR, R-P@5 and
Jaccard of the output set per split, the (pool, depth) each fold picks by MRR on the other folds
(ties to the cheaper), and recall, precision and Jaccard of the output set and recall of the top 15
on the golden texts (`sea_core/data/golden`).

Long texts: the shipped matcher with the text's token rows over all of it (`Encoder.
encode_with_tokens` continues past the model's length in further windows) and cut at the model's
length, as before: R-precision, recall of the tail's gold in the top 30 and the output set on the
dev sentences grouped into ~250-word texts (`LONG_TEXT_SHUFFLES` shuffles, with the paired gain and its
standard error), and the long golden texts.

Cost: the median time of `extract` on bench_core's 250-word job text with and without the
re-ranker (titles' tokens cached, and encoded anew each run), the mean time a text over distinct
250-word texts made of dev sentences with the title cache empty at the start of each pass
(median of `PASSES` alternating passes), and the memory of the title cache after the whole dev
benchmark.
"""

from __future__ import annotations

import argparse
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
from bench_core import DEV_SPLITS, JOB_250_WORDS, dev_items, distinct_groups, distinct_texts, sentence_fold
from machine import machine_info

from sea_core.backends import BACKENDS, ONNX
from sea_core.embedding_cache import EmbeddingCache
from sea_core.encoder import Encoder
from sea_core.golden import load_golden_set
from sea_core.labels import skill_names
from sea_core.matching import (
    LATE_INTERACTION_DEPTH,
    LATE_INTERACTION_EXACT_WEIGHT,
    LATE_INTERACTION_WEIGHT,
    TEXT_NEIGHBOURS,
    RerankSettings,
    late_interaction_reranker,
    previous_matcher,
)
from sea_core.pipeline import Pipeline
from sea_core.quality import ranking_scores, request_scores, set_scores
from sea_core.taxonomy import Taxonomy, bundled_taxonomy
from sea_core.token_match import TokenMatcher

DEPTH = LATE_INTERACTION_DEPTH
WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5)
EXACT_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2)
SHIPPED = "title + exact name (shipped)"
REWEIGHTED = "re-weighted (not kept)"
SPAN_WEIGHTS = (0.4, 0.6, 0.8, 1.0)
REWEIGHTED_WEIGHTS = (0.6, 0.8, 1.0, 1.2, 1.5)
#: (text_top_n, depth) pools scored with the shipped weights, cheapest first
POOLS = ((10, 20), (10, 40), (30, 30), (30, 40), (100, 100))
LONG_TEXT_SHUFFLES = 6  # shuffles of the dev sentences into ~250-word texts (8 texts each)
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
    span: np.ndarray  # (DEPTH,) best similarity of any phrase of the sentence (the sentence's: none)
    text: np.ndarray  # (DEPTH,) similarity of the whole sentence


def reranked(item: Ranked, variant: str, weights: tuple[float, ...]) -> list[str]:
    """The ranking with its head re-ordered by confidence + w x the variant's max-sim score +
    e x exact name, for `weights` (w, e)."""
    head = len(item.confidence)
    if variant == REWEIGHTED:
        span, weight, exact = weights
        score = span * item.span + item.text + weight * item.title + exact * item.exact
    else:
        weight, exact = weights
        score = item.confidence + weight * VARIANTS[variant][0](item.title, item.best) + exact * item.exact
    order = np.argsort(-score, kind="stable")
    return [item.ids[i] for i in order] + item.ids[head:]


def scores(items: list[Ranked], variant: str, weights: tuple[float, ...]) -> tuple[float, float]:
    """Mean MRR and R-P@5 of `items` re-ranked."""
    if not items:
        return 0.0, 0.0
    rows = [ranking_scores(reranked(item, variant, weights), item.gold) for item in items]
    return float(np.mean([r["mrr"] for r in rows])), float(np.mean([r["r_precision@5"] for r in rows]))


def pool_section(shipped: Pipeline, taxonomy: Taxonomy, folds: int) -> None:
    """Print the shipped weights over each of `POOLS` on dev (k-fold pick of the pool) and on the
    golden texts (module docstring)."""
    ids = shipped.index.skill_ids
    dev = dev_items(taxonomy)
    weights = (LATE_INTERACTION_WEIGHT, LATE_INTERACTION_EXACT_WEIGHT)
    per_pool: dict[tuple[int, int], list[dict[str, float]]] = {}
    print(f"pool and depth, shipped weights {weights}:")
    for pool in POOLS:
        text_top_n, depth = pool
        pipeline = shipped.with_match(
            replace(
                shipped.config.match, text_top_n=text_top_n, rerank=late_interaction_reranker(depth=depth)
            )
        )
        rows = []
        for _, item in dev:
            _, candidates = pipeline.candidates(item.sentence)
            ranking = [ids[c.row] for c in candidates[:10]]
            chosen = [ids[c.row] for c in pipeline.select(item.sentence, candidates)]
            rows.append(request_scores(ranking, chosen, item.gold))
        per_pool[pool] = rows
        cells = []
        for split in DEV_SPLITS:
            mine = [r for (s, _), r in zip(dev, rows) if s == split]
            if mine:
                cells.append(
                    f"{split} MRR {np.mean([r['mrr'] for r in mine]):.3f} "
                    f"R-P@5 {np.mean([r['r_precision@5'] for r in mine]):.3f} "
                    f"J {np.mean([r['jaccard'] for r in mine]):.3f}"
                )
        golden = []
        for text in load_golden_set():
            expected = text.expected_ids(taxonomy)
            _, candidates = pipeline.candidates(text.text)
            chosen = [ids[c.row] for c in pipeline.select(text.text, candidates)]
            found = set_scores(chosen, expected)
            top = len({ids[c.row] for c in candidates[:15]} & expected) / max(1, len(expected))
            golden.append((found.recall, found.precision, found.jaccard, top))
        r, p, j, top = np.mean(golden, axis=0)
        label = {(10, 20): " (matcher 3)", (TEXT_NEIGHBOURS, LATE_INTERACTION_DEPTH): " (shipped)"}.get(
            pool, ""
        )
        print(
            f"  text_top_n {text_top_n:>3} depth {depth:>3}{label:13} "
            + "; ".join(cells)
            + f"; golden R {r:.3f} P {p:.3f} J {j:.3f} top-15 recall {top:.3f}"
        )
    picked, held = [], []
    for fold in range(folds):

        def train_mrr(pool: tuple[int, int]) -> float:
            return float(
                np.mean(
                    [
                        r["mrr"]
                        for (_, i), r in zip(dev, per_pool[pool])
                        if sentence_fold(i.sentence, folds) != fold
                    ]
                )
            )

        best = max(POOLS, key=train_mrr)  # max keeps the first (cheapest) of equals
        picked.append(best)
        held += [
            r["mrr"] for (_, i), r in zip(dev, per_pool[best]) if sentence_fold(i.sentence, folds) == fold
        ]
    matcher3 = np.mean([r["mrr"] for r in per_pool[POOLS[0]]])
    print(
        f"  k-fold pick of (text_top_n, depth) by MRR: {picked}; held-out MRR {np.mean(held):.3f} "
        f"(both splits; {POOLS[0]}: {matcher3:.3f})"
    )


def long_text_section(shipped: Pipeline, taxonomy: Taxonomy, long_words: int = 150) -> None:
    """Print late interaction on long texts with the text's token rows over all of it (shipped)
    and cut at the model's length (as before): dev sentences grouped into ~250-word texts (gold =
    their sentences' gold; "tail" = the gold of sentences that start past the model's length)
    and the golden texts of more than `long_words` words."""
    ids = shipped.index.skill_ids
    encoder = shipped.encoder
    room = int(encoder.model.max_seq_length) - 2

    def pieces(text: str) -> int:
        return len(encoder.model.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def ranked(text: str, cut: bool) -> tuple[list[str], list[str]]:
        encoded = shipped.encode(text)
        if cut and encoded.text_tokens is not None:
            encoded = replace(encoded, text_tokens=encoded.text_tokens[:room])
        candidates = shipped.rank_encoded(encoded)
        return [ids[c.row] for c in candidates], [ids[c.row] for c in shipped.select(text, candidates)]

    groups = [group for seed in range(LONG_TEXT_SHUFFLES) for group in distinct_groups(taxonomy, seed=seed)]
    golden = [g for g in load_golden_set() if len(g.text.split()) > long_words]
    print(
        f"long texts ({len(groups)} of ~250 words from dev sentences, {LONG_TEXT_SHUFFLES} shuffles; "
        f"{len(golden)} golden texts "
        f"over {long_words} words), the text's token rows:"
    )
    per_text: dict[bool, np.ndarray] = {}
    for cut in (True, False):
        rows, tails = [], []
        for group in groups:
            text = " ".join(item.sentence for item in group)
            gold: set[str] = set().union(*(item.gold for item in group))
            tail: set[str] = set()
            seen = 0
            for item in group:
                if seen >= room:
                    tail |= item.gold
                seen += pieces(item.sentence + " ")
            ranking, chosen = ranked(text, cut)
            found = set_scores(chosen, gold)
            rows.append((len(set(ranking[: len(gold)]) & gold) / len(gold), found.recall, found.jaccard))
            if tail:
                tails.append(len(set(ranking[:30]) & tail) / len(tail))
        long = []
        for text in golden:
            expected = text.expected_ids(taxonomy)
            ranking, chosen = ranked(text.text, cut)
            found = set_scores(chosen, expected)
            long.append((found.recall, found.jaccard, len(set(ranking[:15]) & expected) / len(expected)))
        per_text[cut] = np.asarray(rows)
        r_prec, recall, jaccard = np.mean(rows, axis=0)
        g_recall, g_jaccard, g_top = np.mean(long, axis=0)
        label = f"cut at {room} pieces (before)" if cut else "all of the text (shipped)"
        print(
            f"  {label:30} dev texts R-precision {r_prec:.3f}, tail recall in the top 30 "
            f"{np.mean(tails):.3f}, output set recall {recall:.3f} J {jaccard:.3f}; long golden "
            f"recall {g_recall:.3f} J {g_jaccard:.3f} top-15 recall {g_top:.3f}"
        )
    gain = per_text[False] - per_text[True]
    error = gain.std(axis=0, ddof=1) / np.sqrt(max(1, len(gain)))
    print(
        f"  paired gain on the dev texts: R-precision {gain[:, 0].mean():+.3f} (standard error "
        f"{error[0]:.3f}), Jaccard {gain[:, 2].mean():+.3f} ({error[2]:.3f})"
    )


def alternating_medians(
    runs: dict[str, Callable[[], object]], repeats: int, before: Callable[[], None] = lambda: None
) -> dict[str, float]:
    """Median wall time in ms of each of `runs` over `repeats` rounds, the runs taking turns
    within a round (so a change of load hits all alike; `before` each run, untimed)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            before()
            started = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


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
    for split, item in dev_items(taxonomy):
        encoded = shipped.encode(item.sentence)  # spans, vectors and tokens: one encoding
        tokens = encoded.text_tokens
        _, candidates = before.candidates(item.sentence, encoded)
        head = candidates[:DEPTH]
        rows = [c.row for c in head]
        named = set()
        for span in encoded.spans:
            named.update(context.exact.rows(span.text))
        best = [name_matcher.scores("", list(range(first[r], first[r + 1])), tokens).max() for r in rows]
        text = shipped.index.matrix[rows] @ encoded.text_vector
        best_span = (
            (encoded.span_vectors @ shipped.index.matrix[rows].T).max(axis=0) if encoded.spans else text
        )
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
                np.asarray(best_span),
                np.asarray(text),
            )
        )

    def fold_of(item: Ranked) -> int:
        return sentence_fold(item.sentence, args.folds)

    print(f"{len(items)} sentences, {args.folds} folds, re-ranking the top {DEPTH}")
    grids: dict[str, list[tuple[float, ...]]] = {
        name: list(itertools.product(WEIGHTS, exact_weights)) for name, (_, exact_weights) in VARIANTS.items()
    }
    grids[REWEIGHTED] = list(itertools.product(SPAN_WEIGHTS, REWEIGHTED_WEIGHTS, EXACT_WEIGHTS))
    for variant, grid in grids.items():
        picked: list[object] = []
        held: dict[str, list[tuple[float, float]]] = {s: [] for s in DEV_SPLITS}
        base: dict[str, list[tuple[float, float]]] = {s: [] for s in DEV_SPLITS}
        for fold in range(args.folds):
            train = [i for i in items if fold_of(i) != fold]
            weights = max(grid, key=lambda we: scores(train, variant, we)[0])
            picked.append(weights if len(grid) > len(WEIGHTS) else weights[0])
            for one in items:
                if fold_of(one) == fold:
                    held[one.split].append(scores([one], variant, weights))
                    base[one.split].append(scores([one], SHIPPED, (0.0, 0.0)))
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
    pool_section(shipped, taxonomy, args.folds)
    long_text_section(shipped, taxonomy)
    print(
        f"title cache after the dev benchmark: {matcher.cached_skills} skills, "
        f"{matcher.cached_bytes / 2**20:.2f} MiB (bounded to {matcher.max_skills} skills)"
    )

    text = JOB_250_WORDS
    matcher3 = shipped.with_match(previous_matcher(shipped.config.match))
    timed = {"matcher 3": matcher3, "shipped": shipped}
    extracts = {name: (lambda p=p: p.extract(text)) for name, p in {"before": before, **timed}.items()}
    warm = alternating_medians(extracts, args.repeats)
    cold = alternating_medians({name: extracts[name] for name in timed}, args.repeats, matcher.clear)
    before_ms = warm["before"]
    print(
        f"250-word text, median of {args.repeats} alternating rounds (phrase cache off): before late interaction "
        f"{before_ms:.0f} ms; "
        + "; ".join(
            f"{name} {warm[name]:.0f} ms ({warm[name] - before_ms:+.0f}) with its titles cached, "
            f"{cold[name]:.0f} ms ({cold[name] - before_ms:+.0f}) with its titles encoded anew"
            for name in timed
        )
    )
    texts = distinct_texts(taxonomy)
    runs = {"before": before, **timed}
    per_text: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(PASSES):  # alternating passes, so a load change hits all alike
        for name, pipeline in runs.items():
            matcher.clear()  # the matchers share the title cache: each pass starts it empty
            started = time.perf_counter()
            for one in texts:
                pipeline.extract(one)
            per_text[name].append((time.perf_counter() - started) * 1000 / max(1, len(texts)))
    medians = {name: statistics.median(values) for name, values in per_text.items()}
    print(
        f"{len(texts)} distinct 250-word texts, title cache empty at the start, median of {PASSES} "
        "passes, ms a text: " + "; ".join(f"{name} {ms:.0f}" for name, ms in medians.items())
    )


if __name__ == "__main__":
    main()
