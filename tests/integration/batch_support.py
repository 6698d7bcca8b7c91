"""Helpers for the bulk-run tests: a home whose PROD model is the tiny encoder's bundle, input
files, and `python -m mlops batch` run in this process or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mlops.adapters.deploy.local import serving_dir
from tests.integration.serving_support import SKILL_TITLES, make_bundle

ROOT = Path(__file__).resolve().parents[2]
VERSION = "1.2.3"


def make_home(home: Path, encoder_dir: Path) -> Path:
    """A SEA home serving the tiny bundle (version VERSION) as PROD."""
    make_bundle(serving_dir(home, "prod"), encoder_dir, version=VERSION)
    return home


def texts(count: int) -> list[str]:
    """`count` distinct texts naming the small taxonomy's skills."""
    return [f"we use {SKILL_TITLES[i % len(SKILL_TITLES)]} and sql, case {i}" for i in range(count)]


def write_jsonl(path: Path, items: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(items)))
    return path


def batch_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run on `home` (offline hubs)."""
    return {
        **os.environ,
        "SEA_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        **extra,
    }


def start_batch(home: Path, *args: str, **extra: str) -> subprocess.Popen:
    """`python -m mlops batch ARGS` as a subprocess in its own process group (killable whole)."""
    return subprocess.Popen(
        [sys.executable, "-m", "mlops", "batch", "--no-progress", *args],
        cwd=ROOT,
        env=batch_env(home, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
