"""Training pairs for fine-tuning the matching encoder, from reviewer feedback and the taxonomy.

- feedback positives: the predicted phrase (or, for added skills or a missing phrase, the
  request text) ↔ the confirmed skill's title, label 1.0 (`source` "feedback");
- feedback hard negatives: phrase ↔ title of a rejected predicted skill, label 0.0
  ("feedback-rejected");
- taxonomy positives: each alternative label ↔ its preferred label ("taxonomy-alt-label") and the
  description ↔ the title ("taxonomy-description"), label 1.0, each with one random negative
  (the same anchor ↔ another skill's title, label 0.0, "taxonomy-negative"; fixed seed).

Each build is one snapshot written to `training_pairs` under a data version: the same content
(order-independent checksum) keeps its version and is not written twice; new content gets the
highest data version bumped (`mlops.datasets.data_version`). The checksum → version memory is
the audit log's `training_pairs.build` events.
"""
from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime
from typing import Any

from mlops.adapters.warehouse.base import Session, Warehouse
from mlops.datasets import data_checksum, data_version as next_data_version
from mlops.services import audit
from mlops.domain.clock import timestamp
from mlops.services.identity import system_user
from mlops.versioning import Version

BUILD_ACTION = "training_pairs.build"
DEFAULT_SEED = 13
PAIR_FIELDS = ("anchor", "candidate", "label", "source", "request_id", "skill_id")


def _pair(anchor: str, candidate: str, label: float, source: str, request_id: str | None,
          skill_id: str | None) -> tuple:
    return (anchor.strip(), candidate.strip(), float(label), source, request_id, skill_id)


def feedback_pairs(warehouse: Session, taxonomy: Any, since: datetime | str | None = None) -> set[tuple]:
    """Positive and hard-negative pairs from the feedback reviewed at or after `since`."""
    where, params = "", []
    if since is not None:
        where = " WHERE f.reviewed_at >= ?"
        params.append(timestamp(since) if isinstance(since, datetime) else str(since))
    rows = warehouse.query(
        "SELECT f.request_id, f.skill_id, f.decision, ps.phrase, ps.skill_title, r.original_input "
        "FROM feedback f "
        "LEFT JOIN prediction_skills ps ON ps.request_id = f.request_id AND ps.skill_id = f.skill_id "
        f"LEFT JOIN prediction_requests r ON r.request_id = f.request_id{where}", params)
    pairs: set[tuple] = set()
    for row in rows:
        skill = taxonomy.get(row["skill_id"])
        title = skill.title if skill is not None else (row["skill_title"] or "")
        anchor = row["phrase"] if row["decision"] != "added" and row["phrase"] else row["original_input"]
        if not title.strip() or not (anchor or "").strip():
            continue
        if row["decision"] == "rejected":
            pairs.add(_pair(anchor, title, 0.0, "feedback-rejected", row["request_id"], row["skill_id"]))
        else:
            pairs.add(_pair(anchor, title, 1.0, "feedback", row["request_id"], row["skill_id"]))
    return pairs


def taxonomy_pairs(taxonomy: Any, seed: int = DEFAULT_SEED) -> set[tuple]:
    """Alternative label ↔ title and description ↔ title positives, each with one random
    negative (another skill's title); deterministic for a given taxonomy and seed."""
    rng = random.Random(seed)
    skills = list(taxonomy)
    pairs: set[tuple] = set()
    for index, skill in enumerate(skills):
        anchors = [(label, "taxonomy-alt-label") for label in skill.alt_labels]
        if skill.description.strip():
            anchors.append((skill.description, "taxonomy-description"))
        for anchor, source in anchors:
            if not anchor.strip() or anchor.strip() == skill.title.strip():
                continue
            pairs.add(_pair(anchor, skill.title, 1.0, source, None, skill.skill_id))
            if len(skills) > 1:
                other = rng.randrange(len(skills) - 1)
                other = other + 1 if other >= index else other  # any skill but this one
                negative = skills[other]
                pairs.add(_pair(anchor, negative.title, 0.0, "taxonomy-negative", None,
                                negative.skill_id))
    return pairs


def _known_versions(session: Session) -> dict[str, str]:
    """checksum -> data version of earlier builds (plus versions present without a record)."""
    known: dict[str, str] = {}
    for event in audit.events(session, action=BUILD_ACTION, limit=100000):
        details = event["details"]
        if details.get("data_checksum") and details.get("data_version"):
            known.setdefault(details["data_checksum"], details["data_version"])
    for row in session.query("SELECT DISTINCT data_version FROM training_pairs"):
        if row["data_version"] and row["data_version"] not in known.values():
            known[f"unrecorded:{row['data_version']}"] = row["data_version"]
    return known


def build_training_pairs(warehouse: Warehouse, taxonomy: Any, since: datetime | str | None = None,
                         seed: int = DEFAULT_SEED) -> tuple[int, str, str]:
    """Build the pairs from feedback (reviewed at or after `since`) and the taxonomy, store them
    under their data version, and return (n_pairs, data_version, data_checksum)."""
    pairs = sorted(feedback_pairs(warehouse, taxonomy, since) | taxonomy_pairs(taxonomy, seed),
                   key=lambda p: tuple("" if v is None else str(v) for v in p))
    rows = [dict(zip(PAIR_FIELDS, pair)) for pair in pairs]
    checksum = data_checksum(rows)
    with warehouse.transaction() as session:
        if warehouse.dialect != "sqlite":  # one builder at a time picks the next version
            session.execute("LOCK training_pairs")
        known = _known_versions(session)
        version = next_data_version(checksum, known)
        stored = int(session.scalar("SELECT COUNT(*) FROM training_pairs WHERE data_version = ?",
                                    (version,)) or 0)
        if stored == len(rows) and checksum in known:
            return len(rows), version, checksum
        session.execute("DELETE FROM training_pairs WHERE data_version = ?", (version,))
        now = timestamp()
        session.executemany(
            "INSERT INTO training_pairs (pair_id, anchor, candidate, label, source, request_id, "
            "skill_id, data_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((_pair_id(version, pair), *pair, version, now) for pair in pairs))
        audit.record(session, system_user().username, BUILD_ACTION, version,
                     {"data_version": version, "data_checksum": checksum, "n_pairs": len(rows),
                      "since": None if since is None else str(since), "seed": seed})
    return len(rows), version, checksum


def _pair_id(version: str, pair: tuple) -> str:
    payload = json.dumps([version, *pair], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def latest_data_version(warehouse: Session) -> str | None:
    """The highest data version stored in `training_pairs` (None when there is none)."""
    versions = []
    for row in warehouse.query("SELECT DISTINCT data_version FROM training_pairs"):
        try:
            versions.append(Version.parse(row["data_version"]))
        except (TypeError, ValueError):
            continue
    return str(max(versions)) if versions else None


def load_training_pairs(warehouse: Session, data_version: str | None = None) -> list[dict[str, Any]]:
    """The pairs of one data version (default: the latest), ordered by pair id; empty when none."""
    version = data_version or latest_data_version(warehouse)
    if version is None:
        return []
    rows = warehouse.query(
        "SELECT pair_id, anchor, candidate, label, source, request_id, skill_id, data_version, "
        "created_at FROM training_pairs WHERE data_version = ? ORDER BY pair_id", (version,))
    for row in rows:
        row["label"] = float(row["label"])
    return rows
