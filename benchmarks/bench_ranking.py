"""Ranking variants on the development benchmark, scored on held-out folds (numbers printed,
nothing asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_ranking.py [--folds 5] [--no-label-vectors]

Each variant re-scores the same cached encodings (bundled encoder, bundled ESCO). A variant
with knobs is tuned by k-fold inside the development split: for each fold the knob with the
best mean MRR on the other folds (tech and house pooled) scores the held-out fold, so every
sentence is scored by a setting that never saw it. Printed per variant and data set: held-out
MRR, R-Precision@5, F1 and Jaccard of the output set, the knob chosen most often, and the
matching time per 250-word text on top of the shared encoding time.

Label vectors (one per skill name, ~90k) take minutes to encode on two cores; they are cached
under `--cache` and skipped with `--no-label-vectors`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from bench_core import JOB_250_WORDS  # noqa: E402
from machine import machine_info  # noqa: E402

from sea_core.evaluate import (labels_only, load_benchmark, r_precision_at,  # noqa: E402
                               reciprocal_rank, set_scores)
from sea_core.embeddings import build_index  # noqa: E402
from sea_core.encoder import Encoder  # noqa: E402
from sea_core.labels import exact_names, name_key, skill_names  # noqa: E402
from sea_core.matching import MatchConfig, previous_matcher, rank_similarities  # noqa: E402
from sea_core.pipeline import Pipeline  # noqa: E402
from sea_core.spans import Span  # noqa: E402
from sea_core.taxonomy import bundled_taxonomy  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmark"
SETS = ("tech", "house")


@dataclass
class Encoded:
    """One text's spans and vectors, computed once and shared by every variant."""

    text: str
    spans: list[Span]
    span_vectors: np.ndarray
    text_vector: np.ndarray


@dataclass
class Context:
    """What variants score with."""

    pipeline: Pipeline
    titles: np.ndarray                 # title-only skill vectors (the plain bi-encoder)
    label_vectors: np.ndarray | None   # one row per skill name
    label_starts: np.ndarray | None    # first name row of each skill
    lexicon: "Lexicon"


# similarities of one encoded text: (span x skill, skill) for a knob value
Scorer = Callable[[Context, Encoded, float], tuple[np.ndarray, np.ndarray]]


class Lexicon:
    """idf-weighted word overlap (F1) between a phrase and each skill's closest name."""

    def __init__(self, names: list[list[str]]) -> None:
        import scipy.sparse as sparse

        self.vocab: dict[str, int] = {}
        rows, cols, owner = [], [], []
        for skill, skill_names_ in enumerate(names):
            for name in skill_names_:
                row = len(owner)
                owner.append(skill)
                for word in name_key(name):
                    rows.append(row)
                    cols.append(self.vocab.setdefault(word, len(self.vocab)))
        shape = (len(owner), len(self.vocab))
        self.names = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
        owner_arr = np.asarray(owner)
        per_skill = sparse.csr_matrix((np.ones(len(rows), np.float32), (owner_arr[rows], cols)),
                                      shape=(len(names), len(self.vocab)))
        df = np.asarray((per_skill > 0).sum(axis=0)).ravel()
        n = len(names)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.name_mass = self.names @ self.idf
        self.starts = np.searchsorted(owner_arr, np.arange(n))
        self.unknown = float(np.log(n))

    def similarity(self, phrases: list[str]) -> np.ndarray:
        import scipy.sparse as sparse

        n_skills = len(self.starts)
        if not phrases:
            return np.zeros((0, n_skills), np.float32)
        rows, cols, mass = [], [], []
        for i, phrase in enumerate(phrases):
            words = name_key(phrase)
            mass.append(sum(self.idf[self.vocab[w]] if w in self.vocab else self.unknown
                            for w in words))
            for w in words:
                if w in self.vocab:
                    rows.append(i)
                    cols.append(self.vocab[w])
        query = sparse.csr_matrix((self.idf[cols], (rows, cols)), shape=(len(phrases), len(self.vocab)))
        overlap = (query @ self.names.T).toarray()
        f1 = 2 * overlap / (np.asarray(mass)[:, None] + self.name_mass[None, :] + 1e-9)
        return np.maximum.reduceat(f1, self.starts, axis=1)


def label_max(ctx: Context, queries: np.ndarray) -> np.ndarray:
    sims = queries @ ctx.label_vectors.T
    return np.maximum.reduceat(sims, ctx.label_starts, axis=1)


def single_vector(ctx: Context, enc: Encoded, _: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    matrix = ctx.pipeline.index.matrix
    return enc.span_vectors @ matrix.T, matrix @ enc.text_vector


def exact_bonus(ctx: Context, enc: Encoded, bonus: float) -> tuple[np.ndarray, np.ndarray]:
    span_sims, text_sims = single_vector(ctx, enc)
    names = exact_names(ctx.pipeline.taxonomy)
    for s, span in enumerate(enc.spans):
        rows = list(names.rows(span.text))
        if rows:
            span_sims[s, rows] = np.minimum(1.0, span_sims[s, rows] + bonus)
    return span_sims, text_sims


def multi_vector(ctx: Context, enc: Encoded, mix: float) -> tuple[np.ndarray, np.ndarray]:
    span_sims, text_sims = single_vector(ctx, enc)
    return mix * label_max(ctx, enc.span_vectors) + (1 - mix) * span_sims, text_sims


def lexical_mix(ctx: Context, enc: Encoded, weight: float) -> tuple[np.ndarray, np.ndarray]:
    span_sims, text_sims = single_vector(ctx, enc)
    lexical = ctx.lexicon.similarity([s.text for s in enc.spans])
    return (1 - weight) * span_sims + weight * lexical, text_sims


def clause_context(ctx: Context, enc: Encoded, weight: float) -> tuple[np.ndarray, np.ndarray]:
    mixed = enc.span_vectors + weight * enc.text_vector[None, :]
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True) + 1e-12
    matrix = ctx.pipeline.index.matrix
    return mixed @ matrix.T, matrix @ enc.text_vector


@dataclass(frozen=True)
class Variant:
    name: str
    scorer: Scorer
    knobs: tuple[float, ...] = (0.0,)
    needs_labels: bool = False


VARIANTS = [
    Variant("pipeline v1: one vector per skill (today)", single_vector),
    Variant("+ exact-name bonus (kept, 0.025)", exact_bonus, (0.025,)),
    Variant("+ exact-name bonus, k-fold over bonus", exact_bonus, (0.025, 0.05, 0.1)),
    Variant("multi-vector: mix of max over names", multi_vector, (0.25, 0.5, 1.0), True),
    Variant("hybrid: idf-weighted lexical F1 mixed in", lexical_mix, (0.1, 0.2, 0.3)),
    Variant("context: clause vector mixed into phrase", clause_context, (0.1, 0.2, 0.35)),
]


def encode_set(pipeline: Pipeline, sentences: list[str]) -> list[Encoded]:
    out = []
    for text in sentences:
        spans = pipeline.span_extractor.extract(text)
        out.append(Encoded(text, spans, pipeline.encoder.encode([s.text for s in spans]),
                           pipeline.encoder.encode([text])[0]))
    return out


def label_vectors(encoder: Encoder, names: list[list[str]], cache: Path) -> tuple[np.ndarray, np.ndarray]:
    flat = [n for skill in names for n in skill]
    starts = np.cumsum([0] + [len(skill) for skill in names[:-1]])
    path = cache / f"label_vectors_{encoder.fingerprint}_{len(flat)}.npy"
    if path.exists():
        return np.load(path).astype(np.float32), starts
    print(f"encoding {len(flat)} skill names (cached in {path}) ...", file=sys.stderr)
    order = np.argsort([len(t) for t in flat])
    vectors = np.zeros((len(flat), encoder.dimension), np.float32)
    for offset in range(0, len(flat), 8192):
        idx = order[offset:offset + 8192]
        vectors[idx] = encoder.encode([flat[i] for i in idx], batch_size=256)
        print(f"  {min(offset + 8192, len(flat))}/{len(flat)}", file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors.astype(np.float16))
    return vectors, starts


def per_sentence(ctx: Context, variant: Variant, knob: float, encoded: list[Encoded],
                 golds: list[frozenset[int]], config: MatchConfig) -> np.ndarray:
    """(sentences, 4): reciprocal rank, R-P@5, F1, Jaccard."""
    out = np.zeros((len(encoded), 4))
    for i, (enc, gold) in enumerate(zip(encoded, golds)):
        span_sims, text_sims = variant.scorer(ctx, enc, knob)
        cands = rank_similarities(enc.spans, span_sims, text_sims, config)
        ranking = [c.row for c in cands[:10]]
        chosen = [c.row for c in ctx.pipeline.select(enc.text, cands)]
        sets = set_scores(chosen, gold)
        out[i] = (reciprocal_rank(ranking, gold), r_precision_at(ranking, gold, 5),
                  sets["f1"], sets["jaccard"])
    return out


def held_out(scores: dict[float, dict[str, np.ndarray]], folds: int, seed: int = 0
             ) -> tuple[dict[str, np.ndarray], Counter]:
    """Per data set, each sentence scored with the knob that won on the other folds."""
    rng = np.random.default_rng(seed)
    assign = {name: rng.permutation(len(m)) % folds for name, m in next(iter(scores.values())).items()}
    result = {name: np.zeros_like(m) for name, m in next(iter(scores.values())).items()}
    chosen: Counter = Counter()
    for fold in range(folds):
        def train_mrr(knob: float) -> float:
            return float(np.concatenate([m[assign[name] != fold, 0]
                                         for name, m in scores[knob].items()]).mean())
        best = max(scores, key=lambda knob: (train_mrr(knob), -knob))
        chosen[best] += 1
        for name in result:
            mask = assign[name] == fold
            result[name][mask] = scores[best][name][mask]
    return result, chosen


def time_variant(ctx: Context, variant: Variant, knob: float, enc: Encoded, config: MatchConfig,
                 repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        span_sims, text_sims = variant.scorer(ctx, enc, knob)
        rank_similarities(enc.spans, span_sims, text_sims, config)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def baseline_scores(ctx: Context, encoded: list[Encoded], golds: list[frozenset[int]]) -> np.ndarray:
    out = np.zeros((len(encoded), 2))
    for i, (enc, gold) in enumerate(zip(encoded, golds)):
        ranking = np.argsort(-(ctx.titles @ enc.text_vector), kind="stable")[:10].tolist()
        out[i] = reciprocal_rank(ranking, gold), r_precision_at(ranking, gold, 5)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(".sea/cache/bench_ranking"))
    parser.add_argument("--no-label-vectors", action="store_true")
    args = parser.parse_args()
    print(machine_info())
    taxonomy = bundled_taxonomy()
    encoder = Encoder()
    pipeline = Pipeline(encoder, taxonomy, embeddings_dir=args.cache / "embeddings")
    config = previous_matcher(pipeline.config.match)  # variants add their own change to v1
    titles = build_index(encoder, labels_only(taxonomy), args.cache / "titles", use_prebuilt=False).matrix
    names = skill_names(taxonomy)
    vectors = starts = None
    if not args.no_label_vectors:
        vectors, starts = label_vectors(encoder, names, args.cache)
    ctx = Context(pipeline, titles, vectors, starts, Lexicon(names))
    row_of = {sid: r for r, sid in enumerate(taxonomy.skill_ids)}
    encoded, golds = {}, {}
    for name in SETS:
        items = load_benchmark(DATA / f"{name}_validation_annotations.csv", taxonomy)
        encoded[name] = encode_set(pipeline, [it.sentence for it in items])
        golds[name] = [frozenset(row_of[g] for g in it.gold) for it in items]
    job = encode_set(pipeline, [JOB_250_WORDS])[0]
    start = time.perf_counter()
    for _ in range(3):
        encode_set(pipeline, [JOB_250_WORDS])
    encode_ms = 1000 * (time.perf_counter() - start) / 3
    print(f"\nheld-out scores, {args.folds}-fold within the development split "
          f"({', '.join(f'{n}: {len(encoded[n])} sentences' for n in SETS)}); "
          f"per-text time = encoding {encode_ms:.0f} ms (shared) + matching\n")
    header = f"{'variant':48s} {'knob':>6s} " + " ".join(
        f"{n + ' ' + m:>11s}" for n in SETS for m in ("MRR", "RP@5", "F1", "Jacc")) + "  match ms"
    print(header)
    base = {name: baseline_scores(ctx, encoded[name], golds[name]) for name in SETS}
    print(f"{'plain bi-encoder (sentence vs titles)':48s} {'-':>6s} " + " ".join(
        f"{base[n][:, 0].mean():11.3f} {base[n][:, 1].mean():11.3f} {'-':>11s} {'-':>11s}"
        for n in SETS))
    for variant in VARIANTS:
        if variant.needs_labels and vectors is None:
            print(f"{variant.name:48s} (skipped: --no-label-vectors)")
            continue
        scores = {knob: {name: per_sentence(ctx, variant, knob, encoded[name], golds[name], config)
                         for name in SETS} for knob in variant.knobs}
        result, chosen = held_out(scores, args.folds)
        knob = chosen.most_common(1)[0][0]
        ms = time_variant(ctx, variant, knob, job, config)
        print(f"{variant.name:48s} {knob:6.3f} " + " ".join(
            " ".join(f"{v:11.3f}" for v in result[n].mean(axis=0)) for n in SETS) + f"  {ms:8.1f}")
    kept = replace(config, exact_name_bonus=pipeline.config.match.exact_name_bonus)
    print(f"\nshipped matcher: {kept}")


if __name__ == "__main__":
    main()
