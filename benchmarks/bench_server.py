"""Inference server throughput and latency on loopback vs the in-process pipeline.

The default encoder (all-MiniLM-L6-v2) over the bundled ESCO taxonomy (or its first `--skills`
skills), embeddings cached in the temp folder across runs. First the pipeline's own speed
(`extract` in a loop), then the HTTP server (`POST /invocations`, one text per request,
keep-alive sessions) at 1, 4 and 16 concurrent clients: requests/s, median and p95 latency, and
the ratio server/in-process (1.0 = no overhead). `--log` adds the prediction log (SQLite
warehouse + local store in a temp folder) to the server, as in production.

Then fairness: the latency of small requests (one text each, one client, one after the other)
alone, and while one large request (`--large-items` texts of the longest size, at most the work
limit) runs concurrently: median and p95 of each, in the same run. The scheduler serves the
small requests between the large request's texts, so they wait for at most one text of it.

Run: `.venv/bin/python benchmarks/bench_server.py [--requests 96] [--skills 0] [--log]
[--small 20] [--large-items 5]`
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Idle OpenMP threads sleep instead of spinning: on a shared, oversubscribed machine spinning
# made the same torch call 5-10x slower depending on which thread made it, drowning the
# server-vs-in-process comparison in noise. Override by setting it yourself.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import requests
from machine import machine_info

from mlops.entrypoints.server import make_server, start_in_thread

TEMPLATES = (
    "We are looking for a data analyst with strong SQL and Python skills, experience with "
    "dashboards in Tableau, statistics and stakeholder management. Role {i}.",
    "The nurse will provide patient care, administer medication, maintain clinical records and "
    "work with the multidisciplinary team on ward {i}.",
    "Course {i}: introduction to machine learning, covering regression, classification, neural "
    "networks, model evaluation and deployment of models to production.",
    "Senior accountant {i}: prepare financial statements, manage audits, ensure tax compliance, "
    "reconcile accounts and advise management on budgeting and forecasting.",
    "Warehouse supervisor {i} responsible for inventory control, forklift operation safety, "
    "scheduling staff shifts and coordinating deliveries with logistics partners.",
)


def texts(n: int) -> list[str]:
    return [TEMPLATES[i % len(TEMPLATES)].format(i=i) for i in range(n)]


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"rps": len(ordered) / wall, "median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000}


def bench_in_process(pipeline, inputs: list[str]) -> dict[str, float]:
    """`extract` in a loop, on a worker thread like the server's (and Streamlit's script
    thread): on an oversubscribed machine torch/BLAS calls from the main thread were several
    times slower, which would flatter the server."""

    def loop() -> dict[str, float]:
        latencies = []
        started = time.perf_counter()
        for text in inputs:
            t0 = time.perf_counter()
            pipeline.extract(text)
            latencies.append(time.perf_counter() - t0)
        return summary(latencies, time.perf_counter() - started)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(loop).result()


def bench_server(url: str, inputs: list[str], clients: int) -> dict[str, float]:
    local = threading.local()

    def call(text: str) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        t0 = time.perf_counter()
        response = session.post(url + "/invocations", json={"text": text}, timeout=300)
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        return elapsed

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(call, inputs[:clients]))  # open the connections
        started = time.perf_counter()
        latencies = list(pool.map(call, inputs))
        wall = time.perf_counter() - started
    return summary(latencies, wall)


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def large_texts(items: int, width: int) -> list[str]:
    """`items` different texts of exactly `width` characters."""
    filler = " ".join(texts(400))
    return [f"Posting {i}: " + filler[: width - len(f"Posting {i}: ")] for i in range(items)]


def bench_fairness(url: str, small: list[str], large: list[str]) -> None:
    """Small requests alone, then while a large request runs; prints both rows and the large
    request's own time."""

    def small_latencies(keep_going) -> list[float]:
        latencies = []
        with requests.Session() as session:
            for text in small:
                if not keep_going():
                    break
                t0 = time.perf_counter()
                response = session.post(url + "/invocations", json={"text": text}, timeout=600)
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
                latencies.append(time.perf_counter() - t0)
        return latencies

    alone = small_latencies(lambda: True)
    large_done = threading.Event()
    large_time: list[float] = []

    def run_large() -> None:
        t0 = time.perf_counter()
        response = requests.post(url + "/invocations", json=[{"text": t} for t in large], timeout=600)
        large_time.append(time.perf_counter() - t0)
        large_done.set()
        if response.status_code != 200:
            raise RuntimeError(f"large request: HTTP {response.status_code}: {response.text[:200]}")

    thread = threading.Thread(target=run_large, daemon=True)
    thread.start()
    time.sleep(0.5)  # let the large request reach the model first
    during = small_latencies(lambda: not large_done.is_set())
    thread.join()

    def line(label: str, latencies: list[float]) -> None:
        if not latencies:
            print(f"{label:<34}{'(none)':>6}")
            return
        ordered = sorted(latencies)
        p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
        print(f"{label:<34}{len(ordered):>6}{statistics.median(ordered) * 1000:>11.1f}{p95 * 1000:>9.1f}")

    chars = sum(len(t) for t in large)
    print()
    print(f"small requests (1 text, 1 client) {'n':>6}{'median ms':>11}{'p95 ms':>9}")
    line("alone", alone)
    line(f"during a {len(large)} x {len(large[0]):,}-char request", during)
    print(f"large request: {len(large)} texts, {chars:,} characters, answered in {large_time[0]:.1f} s")
    print(f"load average (1, 5, 15 min) after: {load_average()}")


def row(label: str, result: dict[str, float]) -> None:
    print(f"{label:<22}{result['rps']:>8.2f}{result['median_ms']:>11.1f}{result['p95_ms']:>9.1f}", flush=True)


def load_pipeline(skills: int):
    from sea_core.encoder import Encoder
    from sea_core.pipeline import Pipeline
    from sea_core.taxonomy import Taxonomy, bundled_taxonomy

    taxonomy = bundled_taxonomy()
    if skills:
        taxonomy = Taxonomy(list(taxonomy)[:skills], version=f"{taxonomy.version}-first{skills}")
    cache = Path(tempfile.gettempdir()) / f"sea-bench-embeddings-{len(taxonomy)}"
    return Pipeline(Encoder(), taxonomy, embeddings_dir=cache), len(taxonomy)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=96, help="requests per measurement")
    parser.add_argument("--skills", type=int, default=0, help="first N ESCO skills (0: all)")
    parser.add_argument("--log", action="store_true", help="log predictions (SQLite + local store)")
    parser.add_argument("--small", type=int, default=20, help="small requests per fairness row")
    parser.add_argument("--large-items", type=int, default=5, help="texts in the large request")
    args = parser.parse_args()

    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    print(f"machine: {machine_info(with_torch=True)}; OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(f"load average (1, 5, 15 min) at start: {load_average()}")
    t0 = time.perf_counter()
    pipeline, n_skills = load_pipeline(args.skills)
    print(f"model: default encoder, {n_skills} skills, loaded in {time.perf_counter() - t0:.1f} s")
    inputs = texts(args.requests)
    with ThreadPoolExecutor(1) as pool:
        list(pool.map(pipeline.extract, inputs[:8]))  # warm-up

    # In-process runs before and after the server runs (the machine may be shared and noisy);
    # the ratio uses their mean throughput.
    before = bench_in_process(pipeline, inputs)
    print(f"\n{'mode':<22}{'req/s':>8}{'median ms':>11}{'p95 ms':>9}")
    row("in-process (before)", before)

    results: dict[int, dict[str, float]] = {}
    prediction_log = None
    workdir = tempfile.TemporaryDirectory(prefix="sea-bench-server-")
    if args.log:
        from mlops.adapters.store.local import LocalStore
        from mlops.adapters.warehouse import open_warehouse
        from mlops.services.prediction_log import PredictionLog

        warehouse = open_warehouse(f"sqlite:///{workdir.name}/wh.db")
        warehouse.init_schema()
        prediction_log = PredictionLog(
            warehouse, LocalStore(Path(workdir.name) / "store"), Path(workdir.name) / "queue"
        )
    server = make_server(pipeline, "127.0.0.1", 0, prediction_log=prediction_log)
    start_in_thread(server)
    try:
        for clients in (1, 4, 16):
            results[clients] = bench_server(server.url, inputs, clients)
            row(f"server, {clients} client{'s' if clients > 1 else ''}", results[clients])
        width = pipeline.config.max_text_chars
        bench_fairness(server.url, inputs[: args.small], large_texts(args.large_items, width))
    finally:
        server.shutdown()
        server.server_close()
        if prediction_log is not None:
            prediction_log.close()
        workdir.cleanup()
    after = bench_in_process(pipeline, inputs)
    row("in-process (after)", after)
    base = (before["rps"] + after["rps"]) / 2
    print(f"\nin-process mean: {base:.2f} req/s")
    for clients, result in results.items():
        print(f"ratio server/in-process at {clients:>2} client(s): {result['rps'] / base:.2f}")
    print(
        "\nratio = server requests/s / in-process requests/s; latency at 16 clients includes "
        "queueing (the model runs one text at a time; requests take turns between texts)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
