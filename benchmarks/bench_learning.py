"""Does the learning loop learn? k-fold over the development benchmark used as simulated reviews
(numbers printed, nothing asserted).

    HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python benchmarks/bench_learning.py [--folds 5]
        [--steps 120] [--retrain-folds N] [--pool-top 20] [--no-retrain]

Each sentence of `../shared/data/benchmark/*_validation_annotations.csv` falls in fold
sha256(sentence) mod k. Per fold, the other folds are the reviewed texts (confirmed = gold
labels; rejected = what the shipped rule suggested outside the gold) and the fold is held out.
Variants scored on the held-out fold (metrics of `sea_core.quality`, means over sentences):
- shipped: the champion (bundled encoder) with the shipped output rule;
- calibrated: the champion with the rule fitted on the other folds;
- retrained+calibrated: the encoder fine-tuned on the other folds (+ taxonomy
  self-supervision) serving the rule fitted on the other folds as the build fits it for a
  retrained candidate: on its base encoder's rankings of those texts, here the champion's (the
  "calibrated" rule);
- retrained (shipped rule) and retrained (rule fitted on its own rankings): the same model with
  the shipped rule, and with the rule fitted on the retrained model's rankings of the texts it
  was trained on (in-sample: the build's way before the acceptance model);
- bi-encoder: the sentence embedded whole against the preferred labels, top label if cos >= 0.3.
Plus the Jaccard and recall of each variant's output sets on the shipped golden set
(`sea_core/data/golden`: whole job and course texts, where the dev folds are single sentences).

Re-embedding all 13,896 skills per fine-tuned model takes ~8-25 min on 2 CPU cores, so the
retrained model ranks a POOL: the union, over every benchmark sentence and golden text, of the
champion's top `--pool-top` skills per phrase and for the whole text, plus every gold/expected
skill (`--pool-top 0`: the whole taxonomy). The champion's candidates (top 5 per phrase, top 10
per text) all lie in the pool, so its scores are the same on the pool as on the whole taxonomy;
the retrained model meets fewer distractors than it would on the whole taxonomy (an optimistic
approximation, printed with the results). Models and encodings are cached under
/tmp/wt-learn-cache.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from bench_core import sentence_fold
from machine import print_run_header

from sea_core.calibration import Calibration, ReviewedExample, fit_output_rule
from sea_core.embeddings import build_index
from sea_core.encoder import Encoder
from sea_core.evaluate import BASELINE_SET_THRESHOLD, BenchmarkItem, labels_only, load_benchmark
from sea_core.finetune import FineTuneParams, ReviewedText, fine_tune_contrastive
from sea_core.golden import load_golden_set
from sea_core.matching import Candidate, top_n
from sea_core.output_set import SHIPPED_RULE, OutputRule
from sea_core.pipeline import Pipeline
from sea_core.quality import mean_scores, request_scores, set_scores
from sea_core.taxonomy import Taxonomy, bundled_taxonomy

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK_DIR = ROOT.parent / "shared" / "data" / "benchmark"
CACHE = Path("/tmp/wt-learn-cache")
RANK_K = 10
VARIANTS = (
    "shipped",
    "calibrated",
    "retrained+calibrated",
    "retrained (shipped rule)",
    "retrained (rule fitted on its own rankings)",
    "bi-encoder",
)
RETRAINED = VARIANTS[2:5]
COLUMNS = ("mrr", "r_precision@5", "jaccard", "f1", "precision", "recall")


@dataclass(frozen=True)
class Ranked:
    """One text run through a pipeline: its candidates and their skill ids."""

    text: str
    candidates: tuple[Candidate, ...]
    ids: tuple[str, ...]


def load_items(taxonomy: Taxonomy) -> list[BenchmarkItem]:
    items: list[BenchmarkItem] = []
    for path in sorted(BENCHMARK_DIR.glob("*_validation_annotations.csv")):
        items.extend(load_benchmark(path, taxonomy))
    return items


def run_pipeline(pipeline: Pipeline, texts: list[str], cache_name: str) -> dict[str, Ranked]:
    """Candidates of every text, cached on disk by name, the texts and the matcher's settings (a
    golden text added or another matcher makes a new cache, not a stale one)."""
    key = "\n".join(texts) + repr(pipeline.config.match)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    path = CACHE / f"{cache_name}-{digest}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    ids = pipeline.index.skill_ids
    out = {}
    for text in texts:
        _, cands = pipeline.candidates(text)
        out[text] = Ranked(text, tuple(cands), tuple(ids[c.row] for c in cands))
    path.write_bytes(pickle.dumps(out))
    return out


def skill_pool(pipeline: Pipeline, texts: list[str], gold: set[str], top: int) -> list[int]:
    """Rows of the champion's top `top` skills per phrase and per text, plus the gold skills."""
    rows: set[int] = set()
    row_of = {sid: i for i, sid in enumerate(pipeline.index.skill_ids)}
    for text in texts:
        spans = pipeline.span_extractor.extract(text)
        vectors = pipeline.encoder.encode([text] + [s.text for s in spans])
        found, _ = top_n(vectors @ pipeline.index.matrix.T, top)
        rows.update(found.ravel().tolist())
    rows.update(row_of[sid] for sid in gold if sid in row_of)
    return sorted(rows)


def output_ids(rule: OutputRule, ranked: Ranked, vectors: np.ndarray, ids: list[str]) -> list[str]:
    return [ids[c.row] for c in rule.select(ranked.candidates, ranked.text, vectors)]


def score_rows(
    rule: OutputRule,
    ranked: dict[str, Ranked],
    items: list[BenchmarkItem],
    vectors: np.ndarray,
    ids: list[str],
) -> list[dict[str, float]]:
    return [
        request_scores(
            list(ranked[i.sentence].ids[:RANK_K]), output_ids(rule, ranked[i.sentence], vectors, ids), i.gold
        )
        for i in items
    ]


def calibrate(
    ranked: dict[str, Ranked], items: list[BenchmarkItem], vectors: np.ndarray, ids: list[str]
) -> Calibration:
    examples = [ReviewedExample(i.sentence, ranked[i.sentence].candidates, i.gold) for i in items]
    return fit_output_rule(examples, ids, vectors)


def reviews_of(
    items: list[BenchmarkItem], ranked: dict[str, Ranked], pipeline: Pipeline
) -> list[ReviewedText]:
    """Simulated reviews: gold confirmed (with the champion's evidence phrase where it suggested
    the skill), the shipped rule's other suggestions rejected."""
    ids = pipeline.index.skill_ids
    out = []
    for item in items:
        r = ranked[item.sentence]
        shown = SHIPPED_RULE.select(r.candidates, r.text)
        phrases = tuple((ids[c.row], c.phrase) for c in shown if ids[c.row] in item.gold)
        rejected = tuple(ids[c.row] for c in shown if ids[c.row] not in item.gold)
        out.append(ReviewedText(item.sentence, tuple(sorted(item.gold)), rejected, phrases))
    return out


def golden_scores(
    rule: OutputRule,
    ranked: dict[str, Ranked],
    golden: list[tuple[str, frozenset]],
    vectors: np.ndarray,
    ids: list[str],
) -> tuple[float, float]:
    """Mean Jaccard and recall of the rule's output sets on the golden texts."""
    values = [set_scores(output_ids(rule, ranked[text], vectors, ids), expected) for text, expected in golden]
    if not values:
        return 0.0, 0.0
    return float(np.mean([v.jaccard for v in values])), float(np.mean([v.recall for v in values]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=120, help="fine-tuning steps per fold")
    parser.add_argument(
        "--retrain-folds", type=int, default=0, help="retrain only on the first N folds (0 = all)"
    )
    parser.add_argument(
        "--pool-top",
        type=int,
        default=20,
        help="pool of skills the retrained model ranks (0 = whole taxonomy)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--no-retrain",
        action="store_true",
        help="score the shipped and calibrated rules only (no fine-tuning)",
    )
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print_run_header(with_torch=True)

    taxonomy = bundled_taxonomy()
    encoder = Encoder()
    champion = Pipeline(encoder, taxonomy)
    ids = champion.index.skill_ids
    items = load_items(taxonomy)
    golden = [(g.text, g.expected_ids(taxonomy)) for g in load_golden_set()]
    texts = [i.sentence for i in items] + [t for t, _ in golden]
    ranked = run_pipeline(champion, texts, f"champion-{encoder.fingerprint}")
    print(f"{len(items)} benchmark sentences, {len(golden)} golden texts, {args.folds} folds")

    label_matrix = build_index(
        encoder, labels_only(taxonomy), CACHE / f"labels-{encoder.fingerprint}", use_prebuilt=False
    ).matrix

    def bi_encoder_row(item: BenchmarkItem) -> dict[str, float]:
        sims = label_matrix @ champion.embed_text(item.sentence)
        order = np.argsort(-sims, kind="stable")[:RANK_K]
        chosen = [ids[order[0]]] if sims[order[0]] >= BASELINE_SET_THRESHOLD else []
        return request_scores([ids[i] for i in order], chosen, item.gold)

    pool_taxonomy = taxonomy
    if args.pool_top and not args.no_retrain:
        gold = set().union(*(i.gold for i in items), *(e for _, e in golden))
        pool_path = CACHE / f"pool-{args.pool_top}.pkl"
        if not pool_path.exists():
            pool_path.write_bytes(pickle.dumps(skill_pool(champion, texts, gold, args.pool_top)))
        pool_rows = pickle.loads(pool_path.read_bytes())
        pool_taxonomy = Taxonomy([taxonomy[r] for r in pool_rows], version=taxonomy.version, name="pool")
        print(
            f"retrained model ranks a pool of {len(pool_taxonomy):,} of {len(taxonomy):,} skills "
            f"(champion's top {args.pool_top} per phrase/text + gold)"
        )

    results: dict[str, list[list[dict[str, float]]]] = {v: [] for v in VARIANTS}
    goldens: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS[:5]}
    retrain_folds = 0 if args.no_retrain else (args.retrain_folds or args.folds)
    for fold in range(args.folds):
        held = [i for i in items if sentence_fold(i.sentence, args.folds) == fold]
        train = [i for i in items if sentence_fold(i.sentence, args.folds) != fold]
        fitted = calibrate(ranked, train, champion.index.matrix, ids)
        results["shipped"].append(score_rows(SHIPPED_RULE, ranked, held, champion.index.matrix, ids))
        results["calibrated"].append(score_rows(fitted.rule, ranked, held, champion.index.matrix, ids))
        results["bi-encoder"].append([bi_encoder_row(i) for i in held])
        goldens["shipped"].append(golden_scores(SHIPPED_RULE, ranked, golden, champion.index.matrix, ids))
        goldens["calibrated"].append(golden_scores(fitted.rule, ranked, golden, champion.index.matrix, ids))
        line = (
            f"fold {fold}: {len(train)} train / {len(held)} held-out; calibrated: "
            f"{fitted.procedure} (train Jaccard {fitted.default_score:.3f} -> "
            f"{fitted.fitted_score:.3f}; {fitted.reason})"
        )
        if fold < retrain_folds:
            params = FineTuneParams(max_steps=args.steps, batch_size=args.batch_size)
            model_dir = CACHE / f"model-f{fold}of{args.folds}-s{args.steps}-b{args.batch_size}"
            if not (model_dir / "config.json").exists():
                result = fine_tune_contrastive(
                    encoder.path, reviews_of(train, ranked, champion), taxonomy, model_dir, params
                )
                line += (
                    f"; fine-tuned {result.steps} steps in {result.seconds:.0f} s "
                    f"({result.review_examples} review + {result.taxonomy_examples} taxonomy "
                    f"rows, {result.hard_negatives} with a hard negative)"
                )
            tuned = Encoder(model_dir)
            index = build_index(
                tuned,
                pool_taxonomy,
                CACHE / f"index-{tuned.fingerprint}-{len(pool_taxonomy)}",
                use_prebuilt=False,
            )
            retrained = Pipeline(tuned, pool_taxonomy, index)
            tuned_ranked = run_pipeline(retrained, texts, f"ranked-{tuned.fingerprint}-{len(pool_taxonomy)}")
            tuned_ids = retrained.index.skill_ids
            tuned_fit = calibrate(tuned_ranked, train, index.matrix, tuned_ids)
            for variant, rule in zip(RETRAINED, (fitted.rule, SHIPPED_RULE, tuned_fit.rule)):
                results[variant].append(score_rows(rule, tuned_ranked, held, index.matrix, tuned_ids))
                goldens[variant].append(golden_scores(rule, tuned_ranked, golden, index.matrix, tuned_ids))
            line += f"; rule fitted on the retrained model's rankings: {tuned_fit.reason}"
        line += "; hold-out Jaccard " + ", ".join(
            f"{v} {mean_scores(results[v][-1])['jaccard']:.3f}"
            for v in VARIANTS
            if len(results[v]) == fold + 1
        )
        print(line, flush=True)

    print(
        f"\nhold-out means over {args.folds} folds (each fold's mean over its sentences, then "
        "the mean over folds; retrained: over the first "
        f"{min(retrain_folds, args.folds)} folds)"
    )
    print("| variant | " + " | ".join(COLUMNS) + " | golden Jaccard | golden recall |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    summary = {}
    for variant in VARIANTS:
        per_fold = [mean_scores(rows) for rows in results[variant] if rows]
        if not per_fold:
            continue
        summary[variant] = mean_scores(per_fold)
        scores = goldens.get(variant)
        cells = " | ".join(f"{summary[variant][c]:.3f}" for c in COLUMNS)
        if scores:
            jaccard, recall = np.mean(scores, axis=0)
            print(f"| {variant} | {cells} | {jaccard:.3f} | {recall:.3f} |")
        else:
            print(f"| {variant} | {cells} | - | - |")
    if "retrained+calibrated" in summary:
        same = [mean_scores(rows) for rows in results["shipped"][:retrain_folds]]
        base = mean_scores(same)
        print()
        for variant in RETRAINED:
            gain = {c: summary[variant][c] - base[c] for c in ("mrr", "jaccard")}
            print(
                f"{variant} vs champion (shipped) on the same folds: MRR "
                f"{gain['mrr']:+.3f} (target +0.03), Jaccard {gain['jaccard']:+.3f} (target +0.05)"
            )
    worse = [
        f
        for f, (a, b) in enumerate(zip(results["shipped"], results["calibrated"]))
        if mean_scores(b)["jaccard"] < mean_scores(a)["jaccard"] - 1e-9
    ]
    print(f"calibrated below shipped (hold-out Jaccard) on folds: {worse or 'none'}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
