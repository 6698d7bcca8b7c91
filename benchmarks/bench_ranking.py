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
under `--cache` (with the encoded sentences) and skipped with `--no-label-vectors`.

Re-ranker variants (`sea_core.reranker`) re-score the shipped matcher's candidates; their weights
come from the other dev folds, from the taxonomy's own queries (alternative labels and
description sentences: then every dev sentence is held out), or both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from bench_core import JOB_250_WORDS
from machine import machine_info

from sea_core.embeddings import build_index
from sea_core.encoder import Encoder
from sea_core.evaluate import labels_only, load_benchmark
from sea_core.labels import LabelVectors, exact_names, label_vectors, name_key, skill_names
from sea_core.lexical import BM25
from sea_core.matching import LEGACY_SETTINGS, Candidate, MatchConfig, RerankSettings, rank_similarities
from sea_core.pipeline import EncodedText, Pipeline
from sea_core.quality import r_precision_at, reciprocal_rank, set_scores
from sea_core.reranker import FEATURES, LABEL_FEATURES, RerankContext, candidate_features, rescore
from sea_core.reranker_fit import Group, fit_pairwise, taxonomy_queries, without_label_features
from sea_core.taxonomy import bundled_taxonomy

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmark"
SETS = ("tech", "house")


Encoded = EncodedText  # one text's spans and vectors, computed once and shared by every variant


@dataclass
class Context:
    """What variants score with."""

    pipeline: Pipeline
    titles: np.ndarray  # title-only skill vectors (the plain bi-encoder)
    labels: LabelVectors | None  # one row per skill name
    lexicon: Lexicon


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
        per_skill = sparse.csr_matrix(
            (np.ones(len(rows), np.float32), (owner_arr[rows], cols)), shape=(len(names), len(self.vocab))
        )
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
            mass.append(sum(self.idf[self.vocab[w]] if w in self.vocab else self.unknown for w in words))
            for w in words:
                if w in self.vocab:
                    rows.append(i)
                    cols.append(self.vocab[w])
        query = sparse.csr_matrix((self.idf[cols], (rows, cols)), shape=(len(phrases), len(self.vocab)))
        overlap = (query @ self.names.T).toarray()
        f1 = 2 * overlap / (np.asarray(mass)[:, None] + self.name_mass[None, :] + 1e-9)
        return np.maximum.reduceat(f1, self.starts, axis=1)


def label_max(ctx: Context, queries: np.ndarray) -> np.ndarray:
    sims = queries @ ctx.labels.vectors.T.astype(np.float32)
    return np.maximum.reduceat(sims, ctx.labels.starts, axis=1)


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


def encode_set(pipeline: Pipeline, sentences: list[str], cache: Path | None = None) -> list[Encoded]:
    """Each sentence encoded as `Pipeline.encode` does, batched across sentences (the same
    vectors up to float rounding, far fewer calls); with `cache`, kept there per (encoder,
    sentences)."""
    if cache is None:
        spans = [pipeline.span_extractor.extract(text) for text in sentences]
        texts = pipeline.encoder.encode(sentences, batch_size=128)
        phrases = pipeline.encoder.encode([s.text for ss in spans for s in ss], batch_size=256)
        bounds = np.cumsum([0] + [len(ss) for ss in spans])
        return [
            Encoded(text, ss, phrases[bounds[i] : bounds[i + 1]], texts[i])
            for i, (text, ss) in enumerate(zip(sentences, spans))
        ]
    key = hashlib.sha256(json.dumps([pipeline.encoder.fingerprint, sentences]).encode())
    path = cache / f"encoded_{key.hexdigest()[:16]}.pkl"
    if path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    encoded = encode_set(pipeline, sentences)
    cache.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(encoded, handle)
    return encoded


def sentence_scores(
    ctx: Context, enc: Encoded, cands: list[Candidate], gold: frozenset[int]
) -> tuple[float, float, float, float]:
    """Reciprocal rank, R-P@5 of the first 10, F1 and Jaccard of the output set."""
    ranking = [c.row for c in cands[:10]]
    sets = set_scores([c.row for c in ctx.pipeline.select(enc.text, cands)], gold)
    return (reciprocal_rank(ranking, gold), r_precision_at(ranking, gold, 5), sets.f1, sets.jaccard)


def per_sentence(
    ctx: Context,
    variant: Variant,
    knob: float,
    encoded: list[Encoded],
    golds: list[frozenset[int]],
    config: MatchConfig,
) -> np.ndarray:
    """(sentences, 4): reciprocal rank, R-P@5, F1, Jaccard."""
    out = np.zeros((len(encoded), 4))
    for i, (enc, gold) in enumerate(zip(encoded, golds)):
        span_sims, text_sims = variant.scorer(ctx, enc, knob)
        cands = rank_similarities(enc.spans, span_sims, text_sims, config)
        out[i] = sentence_scores(ctx, enc, cands, gold)
    return out


def held_out(
    scores: dict[float, dict[str, np.ndarray]], folds: int, seed: int = 0
) -> tuple[dict[str, np.ndarray], Counter]:
    """Per data set, each sentence scored with the knob that won on the other folds."""
    rng = np.random.default_rng(seed)
    assign = {name: rng.permutation(len(m)) % folds for name, m in next(iter(scores.values())).items()}
    result = {name: np.zeros_like(m) for name, m in next(iter(scores.values())).items()}
    chosen: Counter = Counter()
    for fold in range(folds):

        def train_mrr(knob: float) -> float:
            return float(
                np.concatenate([m[assign[name] != fold, 0] for name, m in scores[knob].items()]).mean()
            )

        best = max(scores, key=lambda knob: (train_mrr(knob), -knob))
        chosen[best] += 1
        for name in result:
            mask = assign[name] == fold
            result[name][mask] = scores[best][name][mask]
    return result, chosen


def time_variant(
    ctx: Context, variant: Variant, knob: float, enc: Encoded, config: MatchConfig, repeats: int = 5
) -> float:
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


RerankData = list[tuple[list[Candidate], Group]]  # per text: candidates (best first), features


def rerank_data(
    ctx: Context,
    rctx: RerankContext,
    encoded: list[Encoded],
    golds: list[frozenset[int]],
    hidden: list[str] | None = None,
) -> RerankData:
    """Each text's candidates under the shipped matcher without re-ranker, and their features."""
    out = []
    for i, (enc, gold) in enumerate(zip(encoded, golds)):
        cands = ctx.pipeline.rank_encoded(enc, hidden[i] if hidden else None)
        head = cands[:RERANK_DEPTH]
        features = candidate_features(
            rctx, enc.text, enc.spans, enc.span_vectors, enc.text_vector, head, hidden[i] if hidden else None
        )
        out.append((cands, Group(features, np.array([c.row in gold for c in head]))))
    return out


def rerank_scores(
    ctx: Context,
    settings: RerankSettings | None,
    data: RerankData,
    encoded: list[Encoded],
    golds: list[frozenset[int]],
) -> np.ndarray:
    """(texts, 4) scores of the candidates re-scored by `settings` (None: as they are)."""
    return np.array(
        [
            sentence_scores(ctx, enc, rescore(settings, cands, group.features) if settings else cands, gold)
            for (cands, group), enc, gold in zip(data, encoded, golds)
        ]
    )


@dataclass(frozen=True)
class RerankVariant:
    name: str
    features: tuple[str, ...]
    dev_folds: bool  # train on the other dev folds
    taxonomy: bool  # train on the taxonomy's own queries
    depth: int = 30
    l2s: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    written: bool = False  # what `--write-reranker` writes (sea_core/data/reranker.json)


RERANK_DEPTH = 50  # features are computed this deep; each variant re-scores its own depth
RERANK_VARIANTS = [
    RerankVariant("re-ranker: k-fold on dev, all features", FEATURES, True, False),
    RerankVariant("re-ranker: k-fold on dev, all features, d 20", FEATURES, True, False, 20),
    RerankVariant("re-ranker: k-fold on dev, no label vectors", without_label_features(), True, False),
    RerankVariant(
        "re-ranker: k-fold on dev, no label vec., d 20 *",
        without_label_features(),
        True,
        False,
        20,
        written=True,
    ),
    RerankVariant("re-ranker: taxonomy only (all dev held out)", FEATURES, False, True, l2s=(1e-1,)),
    RerankVariant(
        "re-ranker: taxonomy only, no label vectors", without_label_features(), False, True, l2s=(1e-1,)
    ),
    RerankVariant("re-ranker: taxonomy + dev folds", FEATURES, True, True),
]


def run_rerank_variant(
    ctx: Context,
    variant: RerankVariant,
    data: dict[str, RerankData],
    taxonomy_groups: list[Group],
    encoded: dict[str, list[Encoded]],
    golds: dict[str, list[frozenset[int]]],
    folds: int,
) -> tuple[dict[str, np.ndarray], float, RerankSettings]:
    """Held-out scores of a variant (each dev sentence scored by weights fitted without its
    fold; the l2 chosen as in `held_out`), the l2 chosen most often, and the weights fitted on
    everything the variant may train on (what would ship)."""
    rng = np.random.default_rng(0)
    assign = {name: rng.permutation(len(data[name])) % folds for name in SETS}
    extra = taxonomy_groups if variant.taxonomy else []
    scores: dict[float, dict[str, np.ndarray]] = {}
    for l2 in variant.l2s:
        scores[l2] = {name: np.zeros((len(data[name]), 4)) for name in SETS}
        for fold in range(folds if variant.dev_folds else 1):
            train = list(extra) + [
                g
                for name in SETS
                for i, (_, g) in enumerate(data[name])
                if variant.dev_folds and assign[name][i] != fold
            ]
            settings = fit_pairwise(train, variant.depth, l2, variant.features)
            for name in SETS:
                held = assign[name] == fold if variant.dev_folds else np.ones(len(data[name]), bool)
                scores[l2][name][held] = rerank_scores(ctx, settings, data[name], encoded[name], golds[name])[
                    held
                ]
    result, chosen = held_out(scores, folds)
    l2 = chosen.most_common(1)[0][0]
    everything = list(extra) + ([g for name in SETS for _, g in data[name]] if variant.dev_folds else [])
    return result, l2, fit_pairwise(everything, variant.depth, l2, variant.features)


def time_rerank(
    ctx: Context, rctx: RerankContext, settings: RerankSettings, enc: Encoded, repeats: int = 5
) -> float:
    """Milliseconds to rank, compute features and re-score one encoded text."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cands = ctx.pipeline.rank_encoded(enc)
        head = cands[: settings.depth]
        rescore(
            settings,
            cands,
            candidate_features(rctx, enc.text, enc.spans, enc.span_vectors, enc.text_vector, head),
        )
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(".sea/cache/bench_ranking"))
    parser.add_argument("--no-label-vectors", action="store_true")
    parser.add_argument(
        "--taxonomy-queries",
        type=int,
        default=1000,
        help="self-supervised queries of each kind (labels, description sentences)",
    )
    parser.add_argument("--only-rerank", action="store_true", help="skip the matcher variants")
    parser.add_argument(
        "--write-reranker", type=Path, help="write the shipped re-ranker variant's settings (JSON) here"
    )
    args = parser.parse_args()
    print(machine_info())
    taxonomy = bundled_taxonomy()
    encoder = Encoder()
    shipped = MatchConfig()
    pipeline = Pipeline(encoder, taxonomy, embeddings_dir=args.cache / "embeddings")
    pipeline = pipeline.with_match(replace(shipped, rerank=RerankSettings()))
    config = replace(shipped, **LEGACY_SETTINGS)  # matcher variants add their own change to v1
    titles = build_index(encoder, labels_only(taxonomy), args.cache / "titles", use_prebuilt=False).matrix
    names = skill_names(taxonomy)
    labels = None
    if not args.no_label_vectors:
        labels = label_vectors(
            encoder,
            taxonomy,
            args.cache,
            progress=lambda done, total: print(f"  {done}/{total} skill names encoded", file=sys.stderr),
        )
        labels = replace(labels, vectors=labels.vectors.astype(np.float32))
    ctx = Context(pipeline, titles, labels, Lexicon(names))
    rctx = RerankContext(names, exact_names(taxonomy), BM25.build(names), labels)
    row_of = {sid: r for r, sid in enumerate(taxonomy.skill_ids)}
    encoded, golds = {}, {}
    for name in SETS:
        items = load_benchmark(DATA / f"{name}_validation_annotations.csv", taxonomy)
        encoded[name] = encode_set(pipeline, [it.sentence for it in items], args.cache)
        golds[name] = [frozenset(row_of[g] for g in it.gold) for it in items]
    job = pipeline.encode(JOB_250_WORDS)
    start = time.perf_counter()
    for _ in range(3):
        pipeline.encode(JOB_250_WORDS)
    encode_ms = 1000 * (time.perf_counter() - start) / 3
    print(
        f"\nheld-out scores, {args.folds}-fold within the development split "
        f"({', '.join(f'{n}: {len(encoded[n])} sentences' for n in SETS)}); "
        f"per-text time = encoding {encode_ms:.0f} ms (shared) + matching\n"
    )
    header = (
        f"{'variant':48s} {'knob':>6s} "
        + " ".join(f"{n + ' ' + m:>11s}" for n in SETS for m in ("MRR", "RP@5", "F1", "Jacc"))
        + "  match ms"
    )
    print(header)
    base = {name: baseline_scores(ctx, encoded[name], golds[name]) for name in SETS}
    print(
        f"{'plain bi-encoder (sentence vs titles)':48s} {'-':>6s} "
        + " ".join(
            f"{base[n][:, 0].mean():11.3f} {base[n][:, 1].mean():11.3f} {'-':>11s} {'-':>11s}" for n in SETS
        )
    )
    for variant in [] if args.only_rerank else VARIANTS:
        if variant.needs_labels and labels is None:
            print(f"{variant.name:48s} (skipped: --no-label-vectors)")
            continue
        scores = {
            knob: {
                name: per_sentence(ctx, variant, knob, encoded[name], golds[name], config) for name in SETS
            }
            for knob in variant.knobs
        }
        result, chosen = held_out(scores, args.folds)
        knob = chosen.most_common(1)[0][0]
        ms = time_variant(ctx, variant, knob, job, config)
        print(
            f"{variant.name:48s} {knob:6.3f} "
            + " ".join(" ".join(f"{v:11.3f}" for v in result[n].mean(axis=0)) for n in SETS)
            + f"  {ms:8.1f}"
        )
    data = {name: rerank_data(ctx, rctx, encoded[name], golds[name]) for name in SETS}
    plain = {name: rerank_scores(ctx, None, data[name], encoded[name], golds[name]) for name in SETS}
    print(
        f"{'shipped matcher, no re-ranker (exact bonus)':48s} {'-':>6s} "
        + " ".join(" ".join(f"{v:11.3f}" for v in plain[n].mean(axis=0)) for n in SETS)
    )
    queries = taxonomy_queries(taxonomy, names, args.taxonomy_queries)
    q_encoded = encode_set(pipeline, [q.text for q in queries], args.cache)
    q_data = rerank_data(
        ctx, rctx, q_encoded, [frozenset([q.row]) for q in queries], [q.hidden_name for q in queries]
    )
    q_groups = [group for _, group in q_data]
    kept: tuple[str, RerankSettings] | None = None
    for variant in RERANK_VARIANTS:
        if labels is None and LABEL_FEATURES & set(variant.features):
            print(f"{variant.name:48s} (skipped: --no-label-vectors)")
            continue
        result, l2, settings = run_rerank_variant(ctx, variant, data, q_groups, encoded, golds, args.folds)
        ms = time_rerank(ctx, rctx, settings, job)
        print(
            f"{variant.name:48s} {l2:6.3f} "
            + " ".join(" ".join(f"{v:11.3f}" for v in result[n].mean(axis=0)) for n in SETS)
            + f"  {ms:8.1f}"
        )
        if variant.written:
            kept = (variant.name, settings)
    print(f"\n* best held-out MRR: sea_core/data/reranker.json (opt-in); shipped matcher: {shipped}")
    if args.write_reranker and kept:
        args.write_reranker.write_text(json.dumps(asdict(kept[1]), indent=1) + "\n")
        print(f"wrote {kept[0]!r} (fitted on all dev sentences) to {args.write_reranker}")


if __name__ == "__main__":
    main()
