"""The reviewed evaluation set of a build: reviewer ground truth split into a training slice
(calibration and fine-tuning) and a hold-out (champion and contender scored on it).

- A reviewed text is a request with reviewer decisions; its confirmed skills are the accepted
  and added ones, its rejected skills the hard negatives. Only skills of the build's taxonomy
  count (a skill removed since the review can be neither suggested nor learned).
- The split is by a hash of the request id (`is_holdout`): a text never moves between the
  slices as reviews accumulate.
- Each snapshot (both slices) is stored once per content as `datasets/reviewed/<checksum>.csv`,
  like the fixed test pairs.
- Fewer than `min_reviewed` reviewed texts (default `MIN_REVIEWED` = 30: a hold-out of about
  8 texts at a quarter; fewer make a comparison mostly noise), or no confirmed skill on the
  hold-out: the build is scored on the golden set shipped in `sea_core/data/golden` instead,
  and the evaluation record says which set was used and why.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops.adapters.store.base import ArtifactStore
from mlops.adapters.warehouse.repositories import Source, repositories
from mlops.datasets import data_checksum, store_dataset_snapshot
from sea_core.calibration import ReviewedExample
from sea_core.evaluate import BenchmarkItem
from sea_core.finetune import ReviewedText
from sea_core.golden import load_golden_set
from sea_core.matching import FULL_TEXT_PHRASE
from sea_core.pipeline import Pipeline
from sea_core.taxonomy import Taxonomy

MIN_REVIEWED = 30
HOLDOUT_FRACTION = 0.25
REVIEWED_FIELDS = ("request_id", "split", "text", "confirmed", "rejected")
REVIEWED_SET, GOLDEN_SET = "reviewed-holdout", "golden"


@dataclass(frozen=True)
class ReviewedRequest:
    """One reviewed text: confirmed and rejected skill ids, and the evidence phrase the model
    showed for confirmed skills (`(skill_id, phrase)` pairs)."""

    request_id: str
    text: str
    confirmed: frozenset[str]
    rejected: frozenset[str] = frozenset()
    phrases: tuple[tuple[str, str], ...] = ()

    def training_text(self) -> ReviewedText:
        """The request as fine-tuning data (`sea_core.finetune`)."""
        return ReviewedText(
            self.text, tuple(sorted(self.confirmed)), tuple(sorted(self.rejected)), self.phrases
        )


def reviewed_requests(source: Source, taxonomy: Taxonomy) -> list[ReviewedRequest]:
    """Every reviewed request with its text, by request id. Read through the training-pairs
    repository's `feedback_examples` (each decision with the request text and the predicted
    phrase); the one place that knows how reviews are stored. A skill confirmed by one
    decision and rejected by another counts as confirmed; skills outside `taxonomy` are dropped."""
    by_request: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"text": "", "confirmed": set(), "rejected": set(), "phrases": {}}
    )
    for row in repositories(source).training_pairs.feedback_examples():
        entry = by_request[row.request_id]
        entry["text"] = entry["text"] or (row.original_input or "")
        if taxonomy.get(row.skill_id) is None:
            continue
        if row.decision == "rejected":
            entry["rejected"].add(row.skill_id)
        else:
            entry["confirmed"].add(row.skill_id)
            if row.phrase and row.phrase != FULL_TEXT_PHRASE:
                entry["phrases"][row.skill_id] = row.phrase
    out = []
    for request_id in sorted(by_request):
        entry = by_request[request_id]
        if not entry["text"].strip():
            continue
        out.append(
            ReviewedRequest(
                request_id,
                entry["text"],
                frozenset(entry["confirmed"]),
                frozenset(entry["rejected"] - entry["confirmed"]),
                tuple(sorted(entry["phrases"].items())),
            )
        )
    return out


def is_holdout(request_id: str, fraction: float = HOLDOUT_FRACTION) -> bool:
    """Whether a request belongs to the hold-out: sha256 of its id, as a number in [0, 1),
    below `fraction`. Depends on the id alone, so a text never changes slice."""
    digest = hashlib.sha256(("holdout:" + request_id).encode("utf-8")).hexdigest()
    return int(digest[:12], 16) / float(1 << 48) < fraction


@dataclass(frozen=True)
class ReviewedSplit:
    """The reviewed texts, split by `is_holdout`."""

    train: tuple[ReviewedRequest, ...]
    holdout: tuple[ReviewedRequest, ...]

    @property
    def size(self) -> int:
        return len(self.train) + len(self.holdout)


def split_reviewed(reviews: Sequence[ReviewedRequest], fraction: float = HOLDOUT_FRACTION) -> ReviewedSplit:
    """Training slice and hold-out of the reviewed texts."""
    return ReviewedSplit(
        tuple(r for r in reviews if not is_holdout(r.request_id, fraction)),
        tuple(r for r in reviews if is_holdout(r.request_id, fraction)),
    )


def snapshot_rows(split: ReviewedSplit) -> list[dict[str, str]]:
    """The split as rows of strings (`REVIEWED_FIELDS`; skill id lists as JSON)."""
    return [
        {
            "request_id": r.request_id,
            "split": name,
            "text": r.text,
            "confirmed": json.dumps(sorted(r.confirmed)),
            "rejected": json.dumps(sorted(r.rejected)),
        }
        for name, part in (("train", split.train), ("holdout", split.holdout))
        for r in part
    ]


@dataclass(frozen=True)
class EvaluationSet:
    """What champion and contender are scored on, and where it came from (for the records)."""

    name: str  # REVIEWED_SET or GOLDEN_SET
    items: tuple[BenchmarkItem, ...]
    reason: str
    reviewed: int = 0
    train: int = 0
    holdout: int = 0
    key: str | None = None  # the reviewed snapshot in the store
    checksum: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form for experiment and registry records (without the items)."""
        return {
            "set": self.name,
            "texts": len(self.items),
            "reason": self.reason,
            "reviewed": self.reviewed,
            "train": self.train,
            "holdout": self.holdout,
            "key": self.key,
            "checksum": self.checksum,
            "items_checksum": self.items_checksum,
        }

    @property
    def items_checksum(self) -> str:
        """Checksum of the texts and confirmed skills scored (equal sets score alike)."""
        return data_checksum([{"text": i.sentence, "gold": sorted(i.gold)} for i in self.items])


def golden_items(taxonomy: Taxonomy) -> list[BenchmarkItem]:
    """The shipped golden texts with their expected skills that `taxonomy` has."""
    return [BenchmarkItem(g.text, ids) for g in load_golden_set() if (ids := g.expected_ids(taxonomy))]


def evaluation_set(
    split: ReviewedSplit, taxonomy: Taxonomy, store: ArtifactStore | None, min_reviewed: int = MIN_REVIEWED
) -> EvaluationSet:
    """The reviewed hold-out when there are at least `min_reviewed` reviewed texts and the
    hold-out confirms some skill, else the golden set; the snapshot is stored when there are
    reviews and a store."""
    key: str | None = None
    checksum: str | None = None
    if split.size and store is not None:
        key, checksum = store_dataset_snapshot(store, "reviewed", snapshot_rows(split), REVIEWED_FIELDS)

    def with_counts(name: str, items: tuple[BenchmarkItem, ...], reason: str) -> EvaluationSet:
        return EvaluationSet(
            name,
            items,
            reason,
            reviewed=split.size,
            train=len(split.train),
            holdout=len(split.holdout),
            key=key,
            checksum=checksum,
        )

    if split.size >= min_reviewed and any(r.confirmed for r in split.holdout):
        items = tuple(BenchmarkItem(r.text, r.confirmed) for r in split.holdout)
        return with_counts(
            REVIEWED_SET,
            items,
            f"{len(items)} reviewed hold-out texts ({split.size} reviewed, minimum {min_reviewed})",
        )
    why = (
        f"{split.size} reviewed text(s), fewer than {min_reviewed}"
        if split.size < min_reviewed
        else "no confirmed skill in the reviewed hold-out"
    )
    return with_counts(GOLDEN_SET, tuple(golden_items(taxonomy)), f"{why}: the shipped golden set")


def calibration_examples(pipeline: Pipeline, reviews: Sequence[ReviewedRequest]) -> list[ReviewedExample]:
    """The reviewed texts run through `pipeline` (its ranked candidates) for
    `sea_core.calibration.fit_output_rule`."""
    out = []
    for review, encoded in zip(reviews, pipeline.embed_batch([r.text for r in reviews])):
        _, candidates = pipeline.candidates(review.text, encoded)
        out.append(ReviewedExample(review.text, tuple(candidates), review.confirmed))
    return out
