"""Training pairs from feedback and the taxonomy: contents, determinism, data versions."""

from __future__ import annotations

from datetime import timedelta

from mlops.datasets import data_checksum
from mlops.services import audit
from mlops.services.feedback import submit_feedback
from mlops.services.training_data import (
    PAIR_FIELDS,
    build_training_pairs,
    load_training_pairs,
    taxonomy_snapshot_pairs,
)
from sea_core.taxonomy import Skill, Taxonomy
from tests.unit.monitoring_rows import REVIEWER, T0, log_prediction, small_taxonomy

TAX = small_taxonomy(4)


def by_source(rows):
    out: dict[str, set] = {}
    for row in rows:
        out.setdefault(row["source"], set()).add((row["anchor"], row["candidate"], row["label"]))
    return out


def test_taxonomy_pairs_have_positives_and_seeded_random_negatives():
    """The build's rule: alternative label <-> title positives (descriptions are not anchors),
    each with one random other skill's title as a negative (a draw of its own skill is skipped)."""
    pairs = taxonomy_snapshot_pairs(TAX, seed=1)
    positives = {(a, c) for a, c, label, source, _, _ in pairs if label == 1.0}
    assert positives == {(f"alt label {s.skill_id[1:]}", s.title) for s in TAX}
    assert {source for _, _, label, source, _, _ in pairs if label == 1.0} == {"taxonomy-alt-label"}
    negatives = [(a, c) for a, c, label, source, _, _ in pairs if source == "taxonomy-negative"]
    assert 1 <= len(negatives) <= len(positives)
    titles = {s.title: s for s in TAX}
    for anchor, candidate in negatives:  # never the anchor's own skill
        own = anchor.split()[-1]
        assert candidate in titles and not candidate.endswith(f" {own}")
    assert taxonomy_snapshot_pairs(TAX, seed=1) == pairs


def test_single_skill_taxonomy_has_no_negatives_and_skips_self_labels():
    tax = Taxonomy([Skill(title="python", skill_id="p", alt_labels=("python", "py"), description="")])
    pairs = taxonomy_snapshot_pairs(tax)
    assert {(a, c, label) for a, c, label, *_ in pairs} == {("py", "python", 1.0)}


def test_build_from_feedback_and_taxonomy(wh):
    log_prediction(wh, "r1", ["s0", "s1"], text="we need a data engineer")
    submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], ["s1"], ["s3"], now=T0)
    n, version, checksum = build_training_pairs(wh, TAX)
    rows = load_training_pairs(wh)
    assert n == len(rows) and version == "1.0.0"
    assert checksum == data_checksum([{k: r[k] for k in PAIR_FIELDS} for r in rows])
    sources = by_source(rows)
    assert sources["feedback"] == {
        ("phrase s0 in r1", "skill number 0", 1.0),
        ("we need a data engineer", "skill number 3", 1.0),
    }
    assert sources["feedback-rejected"] == {("phrase s1 in r1", "skill number 1", 0.0)}
    assert len(sources["taxonomy-alt-label"]) == 4 and "taxonomy-description" not in sources
    assert all(r["data_version"] == "1.0.0" for r in rows)
    [event] = audit.events(wh, action="training_pairs.build")
    assert event["details"]["data_checksum"] == checksum


def test_same_content_keeps_its_version_and_is_not_written_twice(wh):
    log_prediction(wh, "r1", ["s0"])
    submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], [], [], now=T0)
    first = build_training_pairs(wh, TAX)
    second = build_training_pairs(wh, TAX)
    assert first == second
    assert wh.scalar("SELECT COUNT(*) FROM training_pairs") == first[0]


def test_new_feedback_gets_a_new_version_and_old_ones_stay_loadable(wh):
    log_prediction(wh, "r1", ["s0"])
    submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], [], [], now=T0)
    n1, v1, c1 = build_training_pairs(wh, TAX)
    log_prediction(wh, "r2", ["s2"])
    submit_feedback(wh, TAX, REVIEWER, "r2", [], ["s2"], [], now=T0 + timedelta(days=1))
    n2, v2, c2 = build_training_pairs(wh, TAX)
    assert (v1, v2) == ("1.0.0", "1.1.0") and c1 != c2 and n2 == n1 + 1
    assert len(load_training_pairs(wh)) == n2 and len(load_training_pairs(wh, "1.0.0")) == n1


def test_since_keeps_only_later_feedback(wh):
    log_prediction(wh, "old", ["s0"])
    submit_feedback(wh, TAX, REVIEWER, "old", ["s0"], [], [], now=T0)
    log_prediction(wh, "new", ["s1"])
    submit_feedback(wh, TAX, REVIEWER, "new", ["s1"], [], [], now=T0 + timedelta(days=2))
    build_training_pairs(wh, TAX, since=T0 + timedelta(days=1))
    feedback = [r for r in load_training_pairs(wh) if r["source"] == "feedback"]
    assert [r["request_id"] for r in feedback] == ["new"]


def test_empty_warehouse_and_empty_taxonomy(wh):
    assert load_training_pairs(wh) == []
    n, version, _ = build_training_pairs(wh, Taxonomy([]))
    assert (n, version) == (0, "1.0.0") and load_training_pairs(wh) == []
    assert load_training_pairs(wh, "9.9.9") == []
