"""Registry update latency: median and p95 of `Registry.update_record` (one read + one
compare-and-swap write of logs.json) on the local store and on moto's S3 server over HTTP.

Run: `.venv/bin/python benchmarks/bench_registry.py [--updates 50] [--versions 100]`
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine import machine_info

from mlops.adapters.store.base import ArtifactStore
from mlops.adapters.store.local import LocalStore
from mlops.services.registry import Registry


def bench(store: ArtifactStore, updates: int, versions: int) -> dict[str, float]:
    """Fill the registry with `versions` records, then time `updates` single updates."""
    registry = Registry(store)
    for i in range(versions):
        registry.register(
            f"1.{i}.0",
            {
                "trigger": "bench",
                "metrics": {"cosine_f1": 0.9},
                "model_path": f"finetuned_models/mlops/versions/1.{i}.0/",
            },
        )
    size = len(store.get_bytes("logs.json"))
    timings = []
    for n in range(updates):
        start = time.perf_counter()
        registry.update_record(f"1.{n % versions}.0", status=f"update-{n}")
        timings.append(time.perf_counter() - start)
    timings.sort()
    p95 = timings[min(len(timings) - 1, max(0, round(0.95 * len(timings)) - 1))]
    return {
        "median_ms": statistics.median(timings) * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": timings[-1] * 1000,
        "document_kib": size / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=50)
    parser.add_argument("--versions", type=int, default=100, help="records in logs.json before timing")
    args = parser.parse_args()
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"machine: {machine_info()}")
    print(f"{args.updates} updates, registry of {args.versions} versions")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["local"] = bench(LocalStore(folder), args.updates, args.versions)

    import boto3

    from mlops.adapters.store.s3 import S3Store
    from tests.fixtures.s3 import _DUMMY_ENV, start_moto_server, stop_moto_server

    os.environ.update(_DUMMY_ENV)
    process, url = start_moto_server()
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket=bucket)
        results["s3 (moto over HTTP)"] = bench(
            S3Store(bucket, "bench", endpoint_url=url, region="us-east-1"), args.updates, args.versions
        )
    finally:
        stop_moto_server(process)
    print(f"{'store':<22}{'median ms':>10}{'p95 ms':>10}{'max ms':>10}{'doc KiB':>10}")
    for name, r in results.items():
        print(
            f"{name:<22}{r['median_ms']:>10.2f}{r['p95_ms']:>10.2f}{r['max_ms']:>10.2f}"
            f"{r['document_kib']:>10.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
