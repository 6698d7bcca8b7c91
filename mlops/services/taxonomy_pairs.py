"""Training pairs generated from a taxonomy alone, and what makes two pairs the same.

Pairs are `{"anchor", "candidate", "label"}` with label 1 (same skill) or 0. The one rule (the
build's): each alternative label (not blank, not the title itself, case-insensitively) ↔ its
skill's title is a positive, with `negatives_per_positive` negatives (the label ↔ a random other
skill's title; a draw of the skill itself is skipped). Deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from typing import Any

from sea_core.taxonomy import Taxonomy


def pair_key(pair: dict[str, Any]) -> str:
    """sha256 of a pair's content (anchor, candidate, label): its identity for splits."""
    text = "\x1f".join([pair["anchor"], pair["candidate"], str(int(pair["label"]))])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_pairs(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Clean pairs: non-blank texts, label 1 when >= 0.5 else 0, duplicates dropped."""
    seen: set[str] = set()
    out = []
    for row in rows:
        anchor, candidate = str(row.get("anchor") or "").strip(), str(row.get("candidate") or "").strip()
        if not anchor or not candidate:
            continue
        try:
            label = 1 if float(row.get("label")) >= 0.5 else 0  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        pair = {"anchor": anchor, "candidate": candidate, "label": label}
        key = pair_key(pair)
        if key not in seen:
            seen.add(key)
            out.append(pair)
    return out


def taxonomy_pairs(
    taxonomy: Taxonomy, seed: int, max_pairs: int | None = None, negatives_per_positive: int = 1
) -> list[dict[str, Any]]:
    """(alternative label, title) positives, each with `negatives_per_positive` (label, random
    other skill's title) negatives; at most `max_pairs` (the first by `pair_key`) when given."""
    rng = random.Random(seed)
    skills = list(taxonomy)
    titles = [s.title for s in skills]
    out: list[dict[str, Any]] = []
    for index, skill in enumerate(skills):
        for label in skill.alt_labels:
            if not label.strip() or label.strip().lower() == skill.title.lower():
                continue
            out.append({"anchor": label, "candidate": skill.title, "label": 1})
            for _ in range(negatives_per_positive):
                other = rng.randrange(len(titles))
                if other != index:
                    out.append({"anchor": label, "candidate": titles[other], "label": 0})
    if max_pairs is not None and len(out) > max_pairs:
        out = sorted(out, key=pair_key)[:max_pairs]
    return normalise_pairs(out)
