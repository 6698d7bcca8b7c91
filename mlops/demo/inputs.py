"""The demo's inputs: its users, the bundled ESCO rows, the new skills of the taxonomy update
and the reviewer's texts (the development benchmark, topped up with built-in ones). The fixed
data lives as files in `mlops/demo/data/`."""

from __future__ import annotations

import csv
import gzip
import io
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sea_core.taxonomy import BUNDLED_ESCO

DATA_DIR = Path(__file__).resolve().parent / "data"
#: The default of `python -m mlops demo --benchmark`: the team's shared benchmark folder beside
#: the checkout, relative to the working directory.
DEFAULT_BENCHMARK = Path("..") / "shared" / "data" / "benchmark"
BENCHMARK_PATTERN = "*_validation_annotations.csv"
N_NEW_SKILLS = 50
ESCO_HEADER = ("conceptUri", "preferredLabel", "altLabelsAndDescription")
#: Longest benchmark sentence the reviewer gets.
MAX_REVIEW_CHARS = 2000


class DemoError(RuntimeError):
    """The demo cannot run (e.g. the folder is not empty, no benchmark); the message says why."""


@dataclass(frozen=True)
class DemoUser:
    """A demo account and its roles."""

    username: str
    roles: tuple[str, ...]


def _data(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def demo_users() -> list[DemoUser]:
    """The demo's accounts (`data/users.json`): admins ada and alan, stakeholder sam,
    reviewer rita."""
    return [DemoUser(u["username"], tuple(u["roles"])) for u in _data("users.json")]


def new_password() -> str:
    """A fresh random password for the demo's accounts (printed once by the demo)."""
    return secrets.token_urlsafe(12)


def esco_rows(limit: int | None = None) -> list[dict[str, str]]:
    """Rows of the bundled ESCO CSV (the first `limit` when given)."""
    with gzip.open(BUNDLED_ESCO, "rt", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[:limit] if limit else rows


def new_skill_rows(existing_titles: set[str], count: int = N_NEW_SKILLS) -> list[dict[str, str]]:
    """`count` ESCO-format rows for skills (`data/new_skills.json`, skills ESCO 1.1.0 lacks)
    whose titles are not in `existing_titles`."""
    rows = []
    for title in _data("new_skills.json"):
        if title.lower() in existing_titles:
            continue
        slug = "-".join(title.lower().replace("/", " ").split())
        rows.append(
            {
                "conceptUri": f"http://example.org/sea-demo/skill/{slug}",
                "preferredLabel": title,
                "altLabelsAndDescription": f"{title.lower()} skills "
                f"Apply {title.lower()} in day-to-day work.",
            }
        )
        if len(rows) == count:
            return rows
    raise DemoError(f"only {len(rows)} of the {count} demo skills are new to this taxonomy")


def write_esco_csv(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    """Write rows in the ESCO skills CSV format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ESCO_HEADER, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def benchmark_files(path: Path) -> list[Path]:
    """The benchmark CSVs at `path`: the file itself, or a folder's `*_validation_annotations.csv`
    files. DemoError saying what to give when there are none."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.glob(BENCHMARK_PATTERN)) if path.is_dir() else []
    if not files:
        raise DemoError(
            f"no benchmark at {path}: give --benchmark PATH, a folder of "
            f"{BENCHMARK_PATTERN} files or one such file (default {DEFAULT_BENCHMARK}, "
            "relative to the working directory)"
        )
    return files


def review_items(
    taxonomy: Any, count: int, files: Sequence[Path] = ()
) -> tuple[list[tuple[str, frozenset[str]]], str]:
    """(sentence, gold skill ids) pairs for the reviewer: the sentences of the benchmark `files`
    whose gold labels are in `taxonomy`, topped up to `count` with built-in texts
    (`data/review_templates.json`) naming two skills each; with a description of where they
    came from."""
    from sea_core.evaluate import load_benchmark

    items: list[tuple[str, frozenset[str]]] = []
    for path in files:
        items += [
            (i.sentence, frozenset(i.gold))
            for i in load_benchmark(path, taxonomy)
            if len(i.sentence) <= MAX_REVIEW_CHARS
        ]
    from_benchmark = len(items[:count])
    templates = _data("review_templates.json")
    skills = list(taxonomy)
    step = max(1, len(skills) // max(1, 2 * count))
    index = 0
    while len(items) < count:
        a, b = skills[(2 * index * step) % len(skills)], skills[((2 * index + 1) * step) % len(skills)]
        template = templates[index % len(templates)]
        items.append((template.format(a=a.title, b=b.title), frozenset({a.skill_id, b.skill_id})))
        index += 1
    names = ", ".join(p.name for p in files) or "none given"
    return items[:count], (
        f"{from_benchmark} from the benchmark ({names}), {count - from_benchmark} built-in"
    )


def check_empty(home: Path) -> Path:
    """`home` resolved, created when missing; DemoError when it holds anything."""
    home = Path(home).expanduser().resolve()
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise DemoError(
            f"{home} is not an empty folder: the demo starts from nothing; "
            "give a new or empty folder (--home)"
        )
    home.mkdir(parents=True, exist_ok=True)
    return home
