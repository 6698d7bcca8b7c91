"""App responsiveness: the time from clicking "Extract skills" to the skills showing (first
click, which loads the model, and warm clicks) for a 250-word job ad beside the extraction
core's time on the same text in the same run (the ratio; target: warm <= 1.3x the core), and
the time to first render of each page (Streamlit AppTest, in-process) on a SQLite warehouse
holding many logged predictions and reviews. The model is the one the app serves on a fresh
install (the default encoder, MiniLM over bundled ESCO).

Run: `.venv/bin/python benchmarks/bench_app.py [--requests 1000000] [--reviews 200000]
[--repeat 5] [--skip-extract] [--home DIR]` (the warehouse is filled once per --home and
reused; `--requests 20000 --reviews 4000` for a quick run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench_core import JOB_250_WORDS
from machine import machine_info

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PAGES = ("review", "quality", "monitoring", "models", "uat", "taxonomy", "audit")


def open_context(home: Path):
    from mlops.bootstrap import Bootstrap
    from mlops.config import load_settings
    from mlops.entrypoints.ui import context as ui_context

    settings = load_settings(env={"SEA_HOME": str(home)}, secrets_path=home / "none.toml")
    context = Bootstrap(settings)
    ui_context.OVERRIDE = context
    return context


def fill(context, requests: int, reviews: int) -> float:
    """Fill the warehouse once (skipped when it already holds `requests` predictions): bulk
    inserts in large transactions with the indexes dropped, then the indexes built once (on
    SQLite several times faster than keeping them up to date row by row)."""
    from mlops.adapters.warehouse import schema
    from tests.fixtures.app_data import create_users, fill_predictions

    warehouse = context.warehouse
    create_users(warehouse)
    have = int(warehouse.scalar("SELECT COUNT(*) FROM prediction_requests") or 0)
    if have >= requests:
        return 0.0
    started = time.perf_counter()
    if warehouse.supports_indexes:
        for index, _table, _columns in schema.INDEXES:
            warehouse.execute(f"DROP INDEX IF EXISTS {index}")
    fill_predictions(warehouse, context.taxonomy, requests, reviews, days=60, batch=50_000)
    for statement in schema.create_statements(with_indexes=warehouse.supports_indexes):
        warehouse.execute(statement)  # idempotent: the tables exist, the indexes are built
    return time.perf_counter() - started


def app_as(username: str, context):
    from streamlit.testing.v1 import AppTest

    from mlops.services.auth import get_user

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    at.session_state["sea_user"] = get_user(context.warehouse, username)
    at.session_state["sea_signed_in_at"] = time.time()
    return at


def time_pages(context, repeat: int) -> dict[str, list[float]]:
    """Seconds per page: first run of the app (signed in as `root`) switched to the page."""
    from datetime import date

    times: dict[str, list[float]] = {page: [] for page in PAGES}
    for _ in range(repeat):
        for page in PAGES:
            at = app_as("root", context).run()
            at.switch_page(f"pages/{page}.py")
            if page == "monitoring":  # the filled data lies before "the last 30 days"
                at.session_state["mon_period"] = (date(2026, 9, 1), date(2026, 11, 2))
            started = time.perf_counter()
            at.run()
            times[page].append(time.perf_counter() - started)
            if at.exception or at.error:
                print(f"  warning: {page} showed {[e.value for e in at.exception or at.error]}")
    return times


def in_thread(work) -> float:
    """Seconds `work()` takes in a new thread: Streamlit runs each page in a script thread, and
    torch's CPU threading differs between the main thread and others (on a loaded machine the
    main thread's 2-thread OpenMP runs can be several times slower), so the core is timed in a
    thread too, like the app."""
    elapsed: list[float] = []

    def run() -> None:
        started = time.perf_counter()
        work()
        elapsed.append(time.perf_counter() - started)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return elapsed[0]


def time_extract(context, repeat: int) -> dict[str, list[float]]:
    """Seconds for the 250-word text: `first` (the first click, loading the model), then per
    warm round, in this order, each on its own variant of the text: `core` (the pipeline's
    extract alone, in a thread), `core_main` (the same in the main thread), `client` (the app's
    inference client: predict and queue the log, in a thread) and `click` (click to skills
    shown: the whole rerun of the Review page under AppTest)."""
    times: dict[str, list[float]] = {"first": [], "core": [], "core_main": [], "client": [], "click": []}

    def click(text: str) -> float:
        at = app_as("rita", context).run()
        at.text_area(key="review_text").input(text)
        started = time.perf_counter()
        at.button(key="review_extract").click().run()
        elapsed = time.perf_counter() - started
        if at.exception or at.error or at.warning:
            print(f"  warning: extract showed {[e.value for e in (at.exception or at.error or at.warning)]}")
        if not at.session_state["review_item"].skills:
            print("  warning: no skills shown")
        return elapsed

    times["first"].append(click(f"{JOB_250_WORDS} (first)"))
    pipeline = context.pipeline("prod")  # the model the app serves, loaded once per process
    client = context.inference("prod")
    for index in range(repeat):
        text = f"{JOB_250_WORDS} (round {index})"
        times["core"].append(in_thread(lambda text=text: pipeline.extract(text + " core")))
        started = time.perf_counter()
        pipeline.extract(text + " main")
        times["core_main"].append(time.perf_counter() - started)
        times["client"].append(in_thread(lambda text=text: client.predict([text + " client"])))
        times["click"].append(click(text + " click"))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--reviews", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5, help="warm rounds and renders per page (at least 1)")
    parser.add_argument("--skip-extract", action="store_true")
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="data folder to fill once and reuse (default: a new temporary one)",
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="sea-bench-app-"))
    print(f"machine: {machine_info()}; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    context = open_context(home)
    filled = fill(context, args.requests, args.reviews)
    counts = {
        t: context.warehouse.scalar(f"SELECT COUNT(*) FROM {t}")
        for t in ("prediction_requests", "prediction_skills", "feedback_submissions", "feedback")
    }
    print(f"warehouse: SQLite at {home} holding {counts} (filled in {filled:.0f} s)")
    if not args.skip_extract:  # first, so that the model is loaded before pages are timed
        times = time_extract(context, args.repeat)
        core, core_main, client, click = (
            statistics.median(times[k]) for k in ("core", "core_main", "client", "click")
        )
        print(
            f"click 'Extract skills' -> skills shown, {len(JOB_250_WORDS.split())}-word text, model "
            f"{context.pipeline('prod').model_version} (default encoder over bundled ESCO), in-process; "
            f"medians of {args.repeat} warm rounds, seconds:"
        )
        print(f"  first click (loads the model): {times['first'][0]:.2f}")
        print(
            f"  core (pipeline.extract):       {core:.3f}  (all: {', '.join(f'{t:.3f}' for t in times['core'])})"
        )
        print(f"  core in the main thread:       {core_main:.3f}  ({core_main / core:.2f}x core)")
        print(f"  inference client (+ log):      {client:.3f}  ({client / core:.2f}x core)")
        print(f"  warm click (whole rerun):      {click:.3f}  ({click / core:.2f}x core; target <= 1.30x)")
        print(f"  load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"time to first render per page (AppTest; seconds: the first run, then the median of "
        f"{args.repeat - 1} more; monitoring caches its aggregates for 60 s, so only its first run "
        "queries the warehouse):"
    )
    for page, samples in time_pages(context, args.repeat).items():
        later = f"{statistics.median(samples[1:]):7.3f}" if len(samples) > 1 else "    n/a"
        print(f"  {page:<11} first {samples[0]:7.3f}   later {later}")
    context.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
