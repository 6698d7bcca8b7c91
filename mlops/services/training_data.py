"""Training pairs for fine-tuning the matching encoder, from reviewer feedback and the taxonomy.

- feedback positives: the predicted phrase (or, for added skills or a missing phrase, the
  request text) ↔ the confirmed skill's title, label 1.0 (`source` "feedback");
- feedback hard negatives: phrase ↔ title of a rejected predicted skill, label 0.0
  ("feedback-rejected");
- taxonomy pairs (`mlops.services.taxonomy_pairs`, the build's rule): each alternative label ↔
  its preferred label ("taxonomy-alt-label", label 1.0), with one random negative (the label ↔
  another skill's title, label 0.0, "taxonomy-negative"; fixed seed).

Each build is one snapshot written to `training_pairs` under a data version: the same content
(order-independent checksum) keeps its version and is not written twice; new content gets the
highest data version bumped (`mlops.datasets.data_version`). The checksum → version memory is
the audit log's `training_pairs.build` events.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from mlops.adapters.warehouse.repositories import Repositories, Source, repositories
from mlops.datasets import data_checksum
from mlops.datasets import data_version as next_data_version
from mlops.domain.clock import timestamp
from mlops.services import audit
from mlops.services.identity import system_user
from mlops.services.taxonomy_pairs import taxonomy_pairs
from mlops.versioning import Version
from sea_core.markup import plain_text

BUILD_ACTION = "training_pairs.build"
DEFAULT_SEED = 13
PAIR_FIELDS = ("anchor", "candidate", "label", "source", "request_id", "skill_id")
#: One builder at a time picks the next data version, under this table's write lock.
LOCK = "training_pairs"


def _pair(
    anchor: str, candidate: str, label: float, source: str, request_id: str | None, skill_id: str | None
) -> tuple:
    return (anchor.strip(), candidate.strip(), float(label), source, request_id, skill_id)


def feedback_pairs(warehouse: Source, taxonomy: Any, since: datetime | str | None = None) -> set[tuple]:
    """Positive and hard-negative pairs from the feedback reviewed at or after `since`."""
    bound = None if since is None else timestamp(since) if isinstance(since, datetime) else str(since)
    pairs: set[tuple] = set()
    for row in repositories(warehouse).training_pairs.feedback_examples(bound):
        skill = taxonomy.get(row.skill_id)
        title = skill.title if skill is not None else (row.skill_title or "")
        raw = (row.phrase if row.decision != "added" and row.phrase else row.original_input) or ""
        anchor = plain_text(raw)  # as the model reads it when it serves
        if not title.strip() or not anchor.strip():
            continue
        if row.decision == "rejected":
            pairs.add(_pair(anchor, title, 0.0, "feedback-rejected", row.request_id, row.skill_id))
        else:
            pairs.add(_pair(anchor, title, 1.0, "feedback", row.request_id, row.skill_id))
    return pairs


def taxonomy_snapshot_pairs(taxonomy: Any, seed: int = DEFAULT_SEED) -> set[tuple]:
    """The taxonomy's pairs (`taxonomy_pairs`: the build's rule, uncapped, one negative per
    positive) as snapshot tuples: "taxonomy-alt-label" positives, "taxonomy-negative" negatives."""
    return {
        _pair(
            p["anchor"],
            p["candidate"],
            float(p["label"]),
            "taxonomy-alt-label" if p["label"] else "taxonomy-negative",
            None,
            None,
        )
        for p in taxonomy_pairs(taxonomy, seed)
    }


def _known_versions(tx: Repositories) -> dict[str, str]:
    """checksum -> data version of earlier builds (plus versions present without a record)."""
    known: dict[str, str] = {}
    for event in tx.audit.events(action=BUILD_ACTION, limit=100000):
        details = event.details
        if details.get("data_checksum") and details.get("data_version"):
            known.setdefault(details["data_checksum"], details["data_version"])
    for version in tx.training_pairs.data_versions():
        if version and version not in known.values():
            known[f"unrecorded:{version}"] = version
    return known


def build_training_pairs(
    warehouse: Source, taxonomy: Any, since: datetime | str | None = None, seed: int = DEFAULT_SEED
) -> tuple[int, str, str]:
    """Build the pairs from feedback (reviewed at or after `since`) and the taxonomy, store them
    under their data version, and return (n_pairs, data_version, data_checksum)."""
    pairs = sorted(
        feedback_pairs(warehouse, taxonomy, since) | taxonomy_snapshot_pairs(taxonomy, seed),
        key=lambda p: tuple("" if v is None else str(v) for v in p),
    )
    rows = [dict(zip(PAIR_FIELDS, pair)) for pair in pairs]
    checksum = data_checksum(rows)
    with repositories(warehouse).transaction(LOCK) as tx:
        known = _known_versions(tx)
        version = next_data_version(checksum, known)
        if tx.training_pairs.count(version) == len(rows) and checksum in known:
            return len(rows), version, checksum
        now = timestamp()
        tx.training_pairs.replace(
            version,
            [
                {
                    "pair_id": _pair_id(version, pair),
                    **dict(zip(PAIR_FIELDS, pair)),
                    "data_version": version,
                    "created_at": now,
                }
                for pair in pairs
            ],
        )
        audit.record(
            tx,
            system_user().username,
            BUILD_ACTION,
            version,
            {
                "data_version": version,
                "data_checksum": checksum,
                "n_pairs": len(rows),
                "since": None if since is None else str(since),
                "seed": seed,
            },
        )
    return len(rows), version, checksum


def _pair_id(version: str, pair: tuple) -> str:
    payload = json.dumps([version, *pair], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def latest_data_version(warehouse: Source) -> str | None:
    """The highest data version stored (None when there is none)."""
    versions = []
    for version in repositories(warehouse).training_pairs.data_versions():
        try:
            versions.append(Version.parse(version))
        except (TypeError, ValueError):
            continue
    return str(max(versions)) if versions else None


def load_training_pairs(warehouse: Source, data_version: str | None = None) -> list[dict[str, Any]]:
    """The pairs of one data version (default: the latest), ordered by pair id; empty when none."""
    version = data_version or latest_data_version(warehouse)
    if version is None:
        return []
    return repositories(warehouse).training_pairs.load(version)
