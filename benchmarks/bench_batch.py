"""Bulk extraction throughput (`python -m mlops batch`) on 1 and 2 worker processes, and the
resume check: a run killed mid-way (SIGKILL to its process group), resumed, and checked for
duplicates and missing rows (numbers printed, nothing asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_batch.py [--texts 1000] [--words 250] \
        [--workers 1,2] [--resume-texts 300] [--chunk-size 32]

The model is the default pipeline of a fresh home (the bundled all-MiniLM-L6-v2 over the bundled
ESCO taxonomy, model version 0.0.0). Texts of about `--words` words are made of
development-benchmark sentences (shared/data/benchmark), drawn with a seed per text, so
every text is distinct while phrases repeat across texts as they do in job ads. Each run is the
whole command in a subprocess: `wall` includes start-up and model loading, `run` is the command's
own `seconds` (model loading included; with 2 workers that is 2 loads in parallel), texts/s
is rows / run, and the steady rate counts the rows committed after the first chunk over the time
from the first chunk's commit to the last's (model loading left out).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from machine import machine_info

BENCHMARK_DIR = Path(os.environ.get("SEA_BENCHMARK_DIR", ROOT.parent / "shared" / "data" / "benchmark"))
FALLBACK_SENTENCES = (
    "We are hiring a data analyst with strong SQL and Python skills.",
    "You will build dashboards in Tableau and present results to stakeholders.",
    "Experience with machine learning, statistics and A/B testing is a plus.",
    "The role involves project management and coordination with suppliers.",
    "Good written and verbal communication skills in English are required.",
)


def sentences() -> list[str]:
    """The distinct development-benchmark sentences (a few fixed ones when absent)."""
    found: dict[str, None] = {}
    for path in sorted(BENCHMARK_DIR.glob("*_validation_annotations.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                found.setdefault(row["sentence"].strip(), None)
    return list(found) or list(FALLBACK_SENTENCES)


def make_texts(count: int, words: int) -> list[str]:
    """`count` distinct texts of about `words` words."""
    pool = sentences()
    texts = []
    for i in range(count):
        rng = random.Random(i)
        chosen: list[str] = []
        while sum(len(s.split()) for s in chosen) < words:
            chosen.append(rng.choice(pool))
        texts.append(" ".join(chosen))
    return texts


def write_input(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return path


def command(source: Path, out: Path, workers: int, chunk_size: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mlops",
        "batch",
        "--input",
        str(source),
        "--output",
        str(out),
        "--workers",
        str(workers),
        "--chunk-size",
        str(chunk_size),
        "--no-progress",
        *extra,
    ]


def steady_rate(work: Path) -> float:
    """Texts/s between the first and the last chunk commit (model loading left out), from the
    committed chunk files' modification times."""
    chunks = sorted(
        (p.stat().st_mtime, sum(1 for _ in p.open()) - 1) for p in (work / "chunks").glob("*.jsonl")
    )
    if len(chunks) < 2 or chunks[-1][0] <= chunks[0][0]:
        return float("nan")
    return sum(rows for _, rows in chunks[1:]) / (chunks[-1][0] - chunks[0][0])


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "SEA_HOME": str(home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def run(cmd: list[str], home: Path) -> tuple[dict, float]:
    began = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=environment(home), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"batch failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout), wall


def ids_of(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["id"] for line in handle if line.strip()]


def resume_check(folder: Path, home: Path, count: int, words: int, chunk_size: int) -> None:
    """Kill a 2-worker run once a third of its chunks are committed, resume it, count rows."""
    texts = make_texts(count, words)
    source = write_input(folder / "resume.jsonl", texts)
    out = folder / "resume-out.jsonl"
    cmd = command(source, out, 2, chunk_size)
    chunks_total = -(-count // chunk_size)
    target = max(1, chunks_total // 3)
    began = time.perf_counter()
    process = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=environment(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    chunk_dir = folder / "resume-out.jsonl.work" / "chunks"
    while process.poll() is None and len(list(chunk_dir.glob("*.jsonl"))) < target:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_after = time.perf_counter() - began
    committed = len(list(chunk_dir.glob("*.jsonl")))
    summary, wall = run(cmd, home)
    ids = ids_of(out)
    expected = [f"t{i}" for i in range(count)]
    print(
        f"resume: {count} texts, chunks of {chunk_size}: killed after {killed_after:.1f} s with "
        f"{committed}/{chunks_total} chunks committed; resumed run skipped {summary['resumed_rows']} rows, "
        f"took {wall:.1f} s; output rows {len(ids)}, distinct {len(set(ids))}, "
        f"duplicates {len(ids) - len(set(ids))}, missing {len(set(expected) - set(ids))}, "
        f"in input order: {ids == expected}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--words", type=int, default=250)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--chunk-size", type=int, default=32)
    parser.add_argument("--resume-texts", type=int, default=300, help="0 skips the resume check")
    args = parser.parse_args()

    print(f"machine: {machine_info()}")
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        home = folder / "home"
        texts = make_texts(args.texts, args.words)
        source = write_input(folder / "in.jsonl", texts)
        words = sum(len(t.split()) for t in texts) / len(texts)
        print(f"input: {len(texts)} texts, {words:.0f} words on average, chunks of {args.chunk_size}")
        warm, wall = run(
            command(write_input(folder / "warm.jsonl", texts[:4]), folder / "warm.jsonl.out.jsonl", 1, 4),
            home,
        )
        print(f"warm-up (taxonomy embeddings into the home's cache): {wall:.1f} s")
        for workers in (int(w) for w in args.workers.split(",")):
            out = folder / f"out-{workers}.jsonl"
            summary, wall = run(command(source, out, workers, args.chunk_size, "--keep-work"), home)
            print(
                f"workers={workers}: {summary['rows']} rows in run {summary['seconds']:.1f} s "
                f"(wall {wall:.1f} s): {summary['rows'] / summary['seconds']:.2f} texts/s with model "
                f"loading, {steady_rate(out.with_name(out.name + '.work')):.2f} texts/s from the first "
                f"chunk to the last; rejected {summary['rejected']}; load average {os.getloadavg()[0]:.2f}"
            )
        if args.resume_texts:
            resume_check(folder, home, args.resume_texts, args.words, args.chunk_size)
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
