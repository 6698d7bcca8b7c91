"""The golden set shipped with SEA (`sea_core/data/golden/*.jsonl`): real-looking job and course
texts, written for the project, with the ESCO skills (by preferred label) a reviewer would
confirm. Builds use it as the evaluation set when too few texts are reviewed; benchmarks report
recall on it. One JSON object per line: `{"name", "kind": "job"|"course", "text", "expected"}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .taxonomy import Taxonomy

GOLDEN_DIR = Path(__file__).resolve().parent / "data" / "golden"
KINDS = ("job", "course")


@dataclass(frozen=True)
class GoldenText:
    """One golden text and the skill titles it must yield."""

    name: str
    kind: str
    text: str
    expected: tuple[str, ...]

    def expected_ids(self, taxonomy: Taxonomy) -> frozenset[str]:
        """Ids of the expected skills that `taxonomy` has (titles matched case-insensitively)."""
        by_title = {s.title.strip().lower(): s.skill_id for s in taxonomy}
        return frozenset(by_title[t.lower()] for t in self.expected if t.lower() in by_title)


def load_golden_set(folder: str | Path = GOLDEN_DIR) -> list[GoldenText]:
    """Every golden text of the folder's `*.jsonl` files (files by name, lines in order).
    ValueError naming the file and line of a malformed or duplicate entry; [] when the folder
    is absent or empty."""
    folder = Path(folder)
    items: list[GoldenText] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                doc = json.loads(line)
                item = GoldenText(str(doc["name"]), str(doc["kind"]), doc["text"], tuple(doc["expected"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"golden set {where}: needs name, kind, text, expected: {exc}") from exc
            if item.kind not in KINDS:
                raise ValueError(f"golden set {where}: kind must be one of {KINDS}, got {item.kind!r}")
            if (
                not isinstance(item.text, str)
                or not item.text.strip()
                or not item.expected
                or not all(isinstance(t, str) and t.strip() for t in item.expected)
            ):
                raise ValueError(
                    f"golden set {where}: text must be non-empty and expected a "
                    "non-empty list of skill titles"
                )
            if item.name in seen:
                raise ValueError(f"golden set {where}: duplicate name {item.name!r}")
            seen.add(item.name)
            items.append(item)
    return items
