"""Model build timings with the default encoder (all-MiniLM-L6-v2) and the bundled ESCO taxonomy.

Steps (pick with --steps, default all):
- `embed`:  re-embedding the full taxonomy (what a skills update costs when every skill changed);
Builds package the encoder backend of the settings (`SEA_ENCODER_BACKEND`, default onnx; pass
`--backend torch` for the fp32 model itself).

- `initial`: the first build end to end (package the encoder as 1.0.0: taxonomy embeddings (the
  default encoder reuses sea_core's shipped prebuilt rows), evaluation, gate, upload, register,
  model card, DEV deploy);
- `patch`:  a skills-update build adding 50 real ESCO skills held out of the first build (only
  those are encoded);
- `train`:  fine-tuning the encoder on N taxonomy pairs (--pairs 2000 [20000]);
- `retrain`: a retraining build end to end (minor) on --build-pairs training pairs.

Run: `.venv/bin/python benchmarks/bench_build.py [--steps embed,initial,patch,train,retrain]
      [--pairs 2000] [--build-pairs 2000] [--taxonomy-size 0 (= all)] [--device cpu|cuda]
      [--backend torch|onnx|onnx-int8]`
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine import machine_info

from mlops.adapters.store import open_store
from mlops.adapters.warehouse import open_warehouse
from mlops.config import load_settings
from mlops.services.build import load_build_config, run_build
from mlops.services.build.data import taxonomy_pairs
from mlops.services.build.train import fine_tune
from sea_core.embeddings import build_index
from sea_core.encoder import Encoder
from sea_core.taxonomy import Taxonomy, bundled_taxonomy

STEPS = ("embed", "initial", "patch", "train", "retrain")


HELD_OUT = 50  # real ESCO skills left out of the first build and added by the skills update


def _taxonomies(size: int) -> tuple[Taxonomy, Taxonomy]:
    """(first taxonomy, the same plus HELD_OUT more real ESCO skills)."""
    skills = list(bundled_taxonomy())
    skills = skills[:size] if size else skills
    held = set(range(0, len(skills), max(1, len(skills) // HELD_OUT))[:HELD_OUT])
    first = [s for i, s in enumerate(skills) if i not in held]
    return Taxonomy(first, version="bench-1", name="esco"), Taxonomy(skills, version="bench-2", name="esco")


def _write_taxonomy(warehouse, taxonomy: Taxonomy, created_at: str) -> None:
    import json

    with warehouse.transaction() as session:
        session.execute(
            "INSERT INTO taxonomy_versions (version, name, checksum, skill_count, "
            "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
            (taxonomy.version, taxonomy.name, taxonomy.checksum, len(taxonomy), created_at, "bench"),
        )
        session.executemany(
            "INSERT INTO taxonomy_skills (taxonomy_version, skill_id, title, skill_type, "
            "description, alt_labels, tags, proficiency_levels, sector, category, source, code, "
            "content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    taxonomy.version,
                    s.skill_id,
                    s.title,
                    s.skill_type,
                    s.description,
                    json.dumps(list(s.alt_labels)),
                    json.dumps(list(s.tags)),
                    json.dumps(list(s.proficiency_levels)),
                    s.sector,
                    s.category,
                    s.source,
                    s.code,
                    s.content_hash(),
                )
                for s in taxonomy
            ],
        )


def _line(name: str, seconds: float, extra: str = "") -> None:
    print(f"{name:<44} {seconds:9.1f} s  {extra}", flush=True)


def _gate_line(result) -> None:
    """The gate's latency measure and backend check of a build (both numbers of the ratio)."""
    checks = {c["name"]: c for c in (result.gate or {}).get("checks", [])}
    latency, backend = checks.get("latency"), checks.get("encoder_backend")
    if latency:
        print(
            f"{'':<44} gate latency: pipeline {latency['ms']:.1f} ms, raw encoder "
            f"{latency['raw_encoder_ms']:.1f} ms, ratio {latency['ratio']:.2f}x "
            f"(max {latency['max_ratio']}x); backend check: {backend['detail'] if backend else '-'}; "
            f"load average now {os.getloadavg()[0]:.1f}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--pairs", default="2000", help="comma-separated training-pair counts")
    parser.add_argument("--build-pairs", type=int, default=2000)
    parser.add_argument("--taxonomy-size", type=int, default=0, help="0: the whole taxonomy")
    parser.add_argument("--device", default=None)
    parser.add_argument("--backend", default=None, help="encoder backend of the builds (default: settings)")
    args = parser.parse_args()
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; choose from {STEPS}")
    from sea_core.encoder import pick_device

    device = pick_device(args.device)
    print(
        f"machine: {machine_info(with_torch=True)}; device {device}; load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    taxonomy, updated = _taxonomies(args.taxonomy_size)
    print(
        f"taxonomy: {len(taxonomy)} ESCO skills (+{len(updated) - len(taxonomy)} in the update)", flush=True
    )
    work = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        settings = load_settings(env={"SEA_HOME": str(work / "home")}, secrets_path=work / "none.toml")
        settings.home.mkdir(parents=True)
        warehouse = open_warehouse(settings.warehouse_url)
        warehouse.init_schema()
        store = open_store(settings.store_url)
        _write_taxonomy(warehouse, taxonomy, "2026-01-01T00:00:00")
        config = load_build_config(
            device=device, max_train_pairs=args.build_pairs, encoder_backend=args.backend
        )
        encoder = Encoder(device=device)

        if "embed" in steps:
            started = time.perf_counter()
            index = build_index(encoder, taxonomy, use_prebuilt=False)
            _line(
                "embed full taxonomy (no cache, no prebuilt)",
                time.perf_counter() - started,
                f"{index.encoded_count} skills encoded",
            )
        if "initial" in steps or "patch" in steps or "retrain" in steps:
            started = time.perf_counter()
            result = run_build(settings, warehouse, store, "manual", config=config)
            _line(
                "initial build end to end (1.0.0)",
                time.perf_counter() - started,
                f"{result.outcome} {result.version}; timings {result.timings}",
            )
            _gate_line(result)
        if "patch" in steps:
            _write_taxonomy(warehouse, updated, "2026-02-01T00:00:00")
            started = time.perf_counter()
            result = run_build(settings, warehouse, store, "skills-update", config=config)
            _line(
                f"skills update, {len(updated) - len(taxonomy)} added ESCO skills",
                time.perf_counter() - started,
                f"{result.outcome} {result.version}; encoded {result.encoded_count}; "
                f"timings {result.timings}",
            )
            _gate_line(result)
        if "train" in steps:
            for n in [int(x) for x in args.pairs.split(",") if x.strip()]:
                pairs = taxonomy_pairs(bundled_taxonomy(), config.seed, n)
                out = work / f"trained-{n}"
                summary = fine_tune(encoder.path, pairs, config, out)
                _line(
                    f"fine-tune default encoder, {len(pairs)} pairs",
                    summary["seconds"],
                    f"{summary['steps']} steps, batch {config.batch_size}, device "
                    f"{summary['device']}, final loss {summary['final_loss']:.4f}",
                )
                shutil.rmtree(out, ignore_errors=True)
        if "retrain" in steps:
            started = time.perf_counter()
            result = run_build(settings, warehouse, store, "performance-drop", config=config)
            _line(
                f"retraining build end to end ({args.build_pairs} pairs)",
                time.perf_counter() - started,
                f"{result.outcome} {result.version or result.candidate_version}; timings {result.timings}",
            )
        warehouse.close()
        print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
