"""Training pair snapshots over in-memory repositories: feedback positives and hard negatives,
the taxonomy's pairs (the build's rule), one data version per content."""

from __future__ import annotations

import pytest

from mlops.services.feedback import submit_feedback
from mlops.services.training_data import build_training_pairs, load_training_pairs
from tests.fakes import MemoryRepositories
from tests.unit.monitoring_rows import REVIEWER, T0, small_taxonomy
from tests.unit.service_fakes import logged

TAX = small_taxonomy(4)


@pytest.fixture
def repos():
    return MemoryRepositories()


def test_feedback_and_taxonomy_pairs_under_one_data_version(repos):
    logged(repos, "r1", ["s0", "s1"], text="we need a data engineer")
    submit_feedback(repos, TAX, REVIEWER, "r1", ["s0"], ["s1"], ["s3"], now=T0)
    n, version, checksum = build_training_pairs(repos, TAX)
    rows = load_training_pairs(repos)
    assert (n, version) == (len(rows), "1.0.0") and ("training_pairs",) in repos.locks_taken
    by_source = {}
    for row in rows:
        by_source.setdefault(row["source"], set()).add((row["anchor"], row["candidate"], row["label"]))
    assert by_source["feedback"] == {
        ("phrase s0", "skill number 0", 1.0),
        ("we need a data engineer", "skill number 3", 1.0),
    }
    assert by_source["feedback-rejected"] == {("phrase s1", "skill number 1", 0.0)}
    assert len(by_source["taxonomy-alt-label"]) == 4 and "taxonomy-description" not in by_source
    assert build_training_pairs(repos, TAX) == (n, version, checksum)  # same content, same version
    submit_feedback(repos, TAX, REVIEWER, "r1", ["s0", "s1"], [], [], now=T0)
    assert build_training_pairs(repos, TAX)[1] == "1.1.0"  # new content: the next data version
    assert len(load_training_pairs(repos, "1.0.0")) == n


def test_an_html_text_pairs_as_the_model_reads_it(repos):
    # an added skill's anchor is the whole text: its markup blanked as when the model serves it
    logged(repos, "r1", ["s0"], text="<p>we need a <b>data</b> engineer</p>")
    submit_feedback(repos, TAX, REVIEWER, "r1", ["s0"], [], ["s3"], now=T0)
    build_training_pairs(repos, TAX)
    pairs = load_training_pairs(repos)
    added = [r["anchor"] for r in pairs if r["candidate"] == "skill number 3" and r["source"] == "feedback"]
    assert [" ".join(a.split()) for a in added] == ["we need a data engineer"]
    assert "<" not in added[0]
