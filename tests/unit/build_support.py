"""Helpers of the build tests: a small ESCO taxonomy in a SQLite warehouse, settings on a temp
home, a local artifact store and a fast build configuration over the tiny encoder."""

from __future__ import annotations

import json
from pathlib import Path

from mlops.adapters.store import open_store
from mlops.adapters.warehouse import open_warehouse
from mlops.config import load_settings
from mlops.services.build.config import load_build_config
from sea_core.taxonomy import Skill, Taxonomy, bundled_taxonomy

LIST_COLUMNS = ("alt_labels", "tags", "proficiency_levels")


def small_taxonomy(n: int = 200, version: str = "t1", start: int = 0) -> Taxonomy:
    """`n` ESCO skills that have alternative labels (so taxonomy pairs exist)."""
    skills = [s for s in bundled_taxonomy() if s.alt_labels][start : start + n]
    return Taxonomy(skills, version=version, name="esco-small")


def write_taxonomy(warehouse, taxonomy: Taxonomy, created_at: str = "2026-01-01T00:00:00") -> None:
    """Store a taxonomy version the way the import does (taxonomy_versions + taxonomy_skills)."""
    with warehouse.transaction() as session:
        session.execute(
            "INSERT INTO taxonomy_versions (version, name, checksum, skill_count, "
            "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
            (taxonomy.version, taxonomy.name, taxonomy.checksum, len(taxonomy), created_at, "test"),
        )
        session.executemany(
            "INSERT INTO taxonomy_skills (taxonomy_version, skill_id, title, skill_type, "
            "description, alt_labels, tags, proficiency_levels, sector, category, source, code, "
            "content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    taxonomy.version,
                    s.skill_id,
                    s.title,
                    s.skill_type,
                    s.description,
                    *(json.dumps(list(getattr(s, c))) for c in LIST_COLUMNS),
                    s.sector,
                    s.category,
                    s.source,
                    s.code,
                    s.content_hash(),
                )
                for s in taxonomy
            ],
        )


def new_skill(title: str, description: str = "") -> Skill:
    return Skill(title=title, skill_type="skill", description=description, source="test")


def environment(tmp_path: Path):
    """(settings, warehouse, store) on a fresh temp home."""
    env = {"SEA_HOME": str(tmp_path / "home"), "SEA_MAX_TEXT_CHARS": "2000"}
    settings = load_settings(env=env, secrets_path=tmp_path / "none.toml")
    settings.home.mkdir(parents=True, exist_ok=True)
    warehouse = open_warehouse(settings.warehouse_url)
    warehouse.init_schema()
    store = open_store(settings.store_url)
    return settings, warehouse, store


def fast_config(encoder_dir: Path, **overrides):
    """A build configuration over the tiny encoder with a gate every tiny model passes."""
    gate = {
        "min_self_match": 0.0,
        "min_golden_recall": 0.0,
        "min_metrics": {},
        "latency_budget_ms": 60000.0,
        "latency_max_ratio": 1000.0,  # a tiny encoder's pipeline is all overhead: not a latency test
        "max_self_checks": 20,
        "latency_words": 40,
        **overrides.pop("gate", {}),
    }
    values = {
        "base_encoder": str(encoder_dir),
        "max_steps": 8,
        "batch_size": 16,
        "taxonomy_pairs": 200,
        "max_train_pairs": 300,
        "max_test_pairs": 200,
        "device": "cpu",
        "gate": gate,
    }
    values.update(overrides)
    return load_build_config(**values)
