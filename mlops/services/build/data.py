"""The data a build trains and tests on: the taxonomy (warehouse, else bundled ESCO), the
training pairs (warehouse, else generated from the taxonomy) and the train/val/test split.

Pairs are `{"anchor", "candidate", "label"}` with label 1 (same skill) or 0. The split is by a
hash of each pair, so it is stable; the TEST set is fixed once and stored as
`datasets/test/<checksum>.csv`: later builds reuse it (the champion's `test_data_path`) and keep
its pairs out of train/val, whatever new data arrives.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from mlops.adapters.store.base import ArtifactStore
from mlops.adapters.warehouse.base import Warehouse
from mlops.datasets import data_checksum, read_csv_dataset, store_dataset_snapshot
from mlops.services import training_data
from mlops.services.taxonomy_import import current_taxonomy
from mlops.services.taxonomy_pairs import normalise_pairs as _normalise
from mlops.services.taxonomy_pairs import pair_key, taxonomy_pairs
from sea_core.taxonomy import Taxonomy, bundled_taxonomy

from .config import BuildConfig

__all__ = [
    "BuildDataError",
    "PairSet",
    "Splits",
    "load_pairs",
    "pair_key",
    "read_pairs",
    "resolve_taxonomy",
    "save_pairs",
    "split_pairs",
    "taxonomy_pairs",
]

PAIR_FIELDS = ("anchor", "candidate", "label")


class BuildDataError(RuntimeError):
    """The build has no usable data (e.g. a test set with a single class)."""


def resolve_taxonomy(warehouse: Warehouse | None) -> tuple[Taxonomy, str]:
    """The newest taxonomy imported into the warehouse, else the bundled ESCO taxonomy;
    with where it came from ('warehouse' or 'bundled')."""
    if warehouse is not None:
        with warehouse.transaction() as session:
            taxonomy = current_taxonomy(session)
        if taxonomy is not None and len(taxonomy):
            return taxonomy, "warehouse"
    return bundled_taxonomy(), "bundled"


@dataclass
class PairSet:
    """Training pairs, where they came from, and their data version/checksum when the warehouse
    snapshot (`mlops.services.training_data`) gave them (None: the build computes them)."""

    pairs: list[dict[str, Any]]
    source: str
    data_version: str | None = None
    data_checksum: str | None = None


def load_pairs(
    warehouse: Warehouse | None, taxonomy: Taxonomy, config: BuildConfig, refresh: bool = True
) -> PairSet:
    """Training pairs: the warehouse snapshot (`training_data.build_training_pairs` first when
    `refresh`: new feedback becomes a new data version, then `load_training_pairs` of that
    version); pairs generated from the taxonomy (`taxonomy_pairs`) when there is no warehouse
    or it gives none or only one label."""
    if warehouse is not None:
        version = checksum = None
        if refresh:
            _, version, checksum = training_data.build_training_pairs(warehouse, taxonomy)
        rows = training_data.load_training_pairs(warehouse, version)
        source = "warehouse:training_pairs" + (f"@{version}" if version else "")
        pairs = _normalise(rows)
        if pairs and {p["label"] for p in pairs} == {0, 1}:
            return PairSet(pairs, source, version, checksum)
    generated = taxonomy_pairs(
        taxonomy, config.seed, config.max_train_pairs + config.max_test_pairs, config.negatives_per_positive
    )
    return PairSet(generated, "taxonomy")


@dataclass
class Splits:
    """Train, validation and (fixed) test pairs, with the test set's store key and checksum."""

    train: list[dict[str, Any]]
    val: list[dict[str, Any]]
    test: list[dict[str, Any]]
    test_key: str
    test_checksum: str
    test_created: bool


def _as_rows(pairs: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{name: str(p[name]) for name in PAIR_FIELDS} for p in pairs]


def save_pairs(store: ArtifactStore, name: str, pairs: list[dict[str, Any]]) -> tuple[str, str]:
    """Store pairs as `datasets/<name>/<checksum>.csv` (once per content); returns (key, checksum)."""
    return store_dataset_snapshot(store, name, _as_rows(pairs), PAIR_FIELDS)


def read_pairs(store: ArtifactStore, key: str) -> list[dict[str, Any]]:
    """Pairs stored by `save_pairs`."""
    return _normalise(read_csv_dataset(store, key))


def _bucket(pair: dict[str, Any], salt: str) -> float:
    digest = hashlib.sha256((salt + pair_key(pair)).encode("ascii")).hexdigest()
    return int(digest[:12], 16) / float(1 << 48)


def split_pairs(
    pairs: list[dict[str, Any]], store: ArtifactStore, config: BuildConfig, test_key: str | None = None
) -> Splits:
    """Split pairs by hash. With `test_key` (the champion's test set) that stored set is the test
    set and its pairs are kept out of train/val; otherwise a test set is cut (about
    `test_fraction`, at most `max_test_pairs`) and stored. Train is capped at `max_train_pairs`."""
    created = False
    if test_key and store.exists(test_key):
        test = read_pairs(store, test_key)
        checksum = data_checksum(_as_rows(test))
    else:
        test = sorted((p for p in pairs if _bucket(p, "test") < config.test_fraction), key=pair_key)
        test = test[: config.max_test_pairs]
        if {p["label"] for p in test} != {0, 1}:
            raise BuildDataError(
                f"the test set needs both positive and negative pairs; "
                f"{len(pairs)} pairs gave {len(test)} test pairs"
            )
        test_key, checksum = save_pairs(store, "test", test)
        created = True
    held_out = {pair_key(p) for p in test}
    rest = [p for p in pairs if pair_key(p) not in held_out]
    val = [p for p in rest if _bucket(p, "val") < config.val_fraction]
    train = [p for p in rest if _bucket(p, "val") >= config.val_fraction]
    if len(train) > config.max_train_pairs:
        train = sorted(train, key=lambda p: _bucket(p, "cap"))[: config.max_train_pairs]
    return Splits(train, val, test, test_key, checksum, created)
