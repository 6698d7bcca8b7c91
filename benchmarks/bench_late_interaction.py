"""Late interaction on the development benchmark, scored on held-out folds (numbers printed,
nothing asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_late_interaction.py [--folds 5]

Each dev sentence (`../shared/data/benchmark/*_validation_annotations.csv`) is ranked by the
shipped matcher; its top `DEPTH` candidates are re-ordered by confidence + w x title max-sim
(`sea_core.token_match`, titles without their parenthetical qualifier). Sentences fall in fold
sha256(sentence) mod k; the weight w of each fold is the one with the best MRR on the other folds
(from `WEIGHTS`), and the fold is scored with it. Printed per split: held-out MRR and R-P@5 of
the shipped matcher and of late interaction, and the weight each fold picked.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from bench_core import DEV_SPLITS, dev_path
from machine import machine_info

from sea_core.embedding_cache import EmbeddingCache
from sea_core.encoder import Encoder
from sea_core.evaluate import load_benchmark
from sea_core.labels import skill_names
from sea_core.pipeline import Pipeline
from sea_core.quality import ranking_scores
from sea_core.reranker import LATE_INTERACTION_DEPTH
from sea_core.taxonomy import bundled_taxonomy
from sea_core.token_match import TokenMatcher, match_title

DEPTH = LATE_INTERACTION_DEPTH
WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)


@dataclass(frozen=True)
class Ranked:
    """One sentence: its split and gold skills, the shipped ranking and the max-sim of its head."""

    split: str
    sentence: str
    gold: frozenset[str]
    ids: list[str]  # the shipped ranking, skill ids best first
    confidence: np.ndarray  # (DEPTH,) confidences of the head
    maxsim: np.ndarray  # (DEPTH,) title max-sim of the head


def reranked(item: Ranked, weight: float) -> list[str]:
    """The ranking with its head re-ordered by confidence + weight x max-sim."""
    head = len(item.confidence)
    order = np.argsort(-(item.confidence + weight * item.maxsim), kind="stable")
    return [item.ids[i] for i in order] + item.ids[head:]


def scores(items: list[Ranked], weight: float) -> tuple[float, float]:
    """Mean MRR and R-P@5 of `items` re-ranked with `weight`."""
    if not items:
        return 0.0, 0.0
    rows = [ranking_scores(reranked(item, weight), item.gold) for item in items]
    return float(np.mean([r["mrr"] for r in rows])), float(np.mean([r["r_precision@5"] for r in rows]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine_info(with_torch=True)}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    taxonomy = bundled_taxonomy()
    encoder = Encoder()
    pipeline = Pipeline(encoder, taxonomy, phrase_cache=EmbeddingCache(0))
    ids = pipeline.index.skill_ids
    titles = [match_title(names[0]) for names in skill_names(taxonomy)]
    matcher = TokenMatcher(titles, encoder.token_embeddings)
    items: list[Ranked] = []
    for split in DEV_SPLITS:
        if not dev_path(split).is_file():
            continue
        for item in load_benchmark(dev_path(split), taxonomy):
            _, candidates = pipeline.candidates(item.sentence)
            head = candidates[:DEPTH]
            rows = [c.row for c in head]
            items.append(
                Ranked(
                    split,
                    item.sentence,
                    item.gold,
                    [ids[c.row] for c in candidates],
                    np.asarray([c.confidence for c in head]),
                    matcher.scores(item.sentence, rows),
                )
            )

    def fold_of(item: Ranked) -> int:
        return int(hashlib.sha256(item.sentence.encode("utf-8")).hexdigest()[:12], 16) % args.folds

    picked = {}
    held: dict[str, list[tuple[float, float]]] = {s: [] for s in DEV_SPLITS}
    shipped: dict[str, list[tuple[float, float]]] = {s: [] for s in DEV_SPLITS}
    for fold in range(args.folds):
        train = [i for i in items if fold_of(i) != fold]
        weight = max(WEIGHTS, key=lambda w: scores(train, w)[0])
        picked[fold] = weight
        for one in items:
            if fold_of(one) == fold:
                held[one.split].append(scores([one], weight))
                shipped[one.split].append(scores([one], 0.0))
    print(f"{len(items)} sentences, {args.folds} folds, weight picked per fold: {picked}")
    for split in DEV_SPLITS:
        if held[split]:
            mrr, rp = np.mean(held[split], axis=0)
            base_mrr, base_rp = np.mean(shipped[split], axis=0)
            print(
                f"{split}: held-out MRR {mrr:.3f} (shipped {base_mrr:.3f}), "
                f"R-P@5 {rp:.3f} (shipped {base_rp:.3f})"
            )


if __name__ == "__main__":
    main()
