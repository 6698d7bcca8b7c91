"""App responsiveness: time to first render of each page (Streamlit AppTest, in-process) on a
SQLite warehouse holding many logged predictions and reviews, and the time from clicking
"Extract skills" to the skills showing with the default encoder (MiniLM over bundled ESCO).

Run: `.venv/bin/python benchmarks/bench_app.py [--requests 1000000] [--reviews 200000]
[--repeat 3] [--skip-extract] [--home DIR]` (the warehouse is filled once per --home and reused).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from machine import machine_info

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PAGES = ("review", "monitoring", "models", "uat", "taxonomy", "audit")


def open_context(home: Path):
    from mlops.bootstrap import Bootstrap
    from mlops.config import load_settings
    from mlops.entrypoints.ui import context as ui_context

    settings = load_settings(env={"SEA_HOME": str(home)}, secrets_path=home / "none.toml")
    context = Bootstrap(settings)
    ui_context.OVERRIDE = context
    return context


def fill(context, requests: int, reviews: int) -> float:
    """Fill the warehouse once (skipped when it already holds `requests` predictions)."""
    from tests.fixtures.app_data import create_users, fill_predictions

    create_users(context.warehouse)
    have = int(context.warehouse.scalar("SELECT COUNT(*) FROM prediction_requests") or 0)
    if have >= requests:
        return 0.0
    started = time.perf_counter()
    fill_predictions(context.warehouse, context.taxonomy, requests, reviews, days=60)
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


def time_extract(context, repeat: int) -> tuple[float, list[float]]:
    """(first click incl. model load, later clicks) in seconds, default encoder over ESCO."""
    text = (
        "We are looking for a data analyst experienced in SQL, Python and statistical "
        "modelling, with strong communication skills and stakeholder management."
    )
    samples = []
    for index in range(repeat + 1):
        at = app_as("rita", context).run()
        at.text_area(key="review_text").input(f"{text} (run {index})")
        started = time.perf_counter()
        at.button(key="review_extract").click().run()
        samples.append(time.perf_counter() - started)
        if at.exception or at.error or at.warning:
            print(f"  warning: extract showed {[e.value for e in (at.exception or at.error or at.warning)]}")
    return samples[0], samples[1:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--reviews", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="renders per page (at least 1)")
    parser.add_argument("--skip-extract", action="store_true")
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="data folder to fill once and reuse (default: a new temporary one)",
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="sea-bench-app-"))
    print(f"machine: {machine_info()}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    context = open_context(home)
    filled = fill(context, args.requests, args.reviews)
    counts = {
        t: context.warehouse.scalar(f"SELECT COUNT(*) FROM {t}")
        for t in ("prediction_requests", "prediction_skills", "feedback_submissions", "feedback")
    }
    print(f"warehouse: SQLite at {home} holding {counts} (filled in {filled:.0f} s)")
    if not args.skip_extract:  # first, so that the model is loaded before pages are timed
        first, later = time_extract(context, args.repeat)
        print("extract -> skills shown (default encoder, bundled ESCO, in-process; seconds):")
        print(f"  first click (loads the model; embeds ESCO unless cached): {first:.2f}")
        print(f"  later clicks: median {statistics.median(later):.3f}, max {max(later):.3f}")
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
