"""Taxonomy import over in-memory repositories: preview, one new version with its pending
updates and audit event, version labels, the queued skills-update job."""

from __future__ import annotations

import csv

import pytest

from mlops.services import jobs
from mlops.services.identity import PermissionDenied, User
from mlops.services.taxonomy_import import (
    TaxonomyImportError,
    current_taxonomy,
    current_version,
    import_taxonomy,
    preview_import,
)
from tests.fakes import MemoryRepositories

ADMIN = User("ada", frozenset({"admin"}))


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "type", "alt_labels", "tags"])
        writer.writerows(rows)
    return path


@pytest.fixture
def repos():
    return MemoryRepositories()


def test_first_import_adds_every_skill_and_queues_the_build(repos, tmp_path):
    path = write_csv(tmp_path / "t.csv", [["Python", "skill", "py", ""], ["Baking", "skill", "", ""]])
    assert preview_import(repos, path).counts() == {"skills": 2, "added": 2, "changed": 0, "removed": 0}
    result = import_taxonomy(repos, path, ADMIN)
    assert current_version(repos)["version"] == result.version
    assert sorted(s.title for s in current_taxonomy(repos)) == ["Baking", "Python"]
    assert {u.action for u in repos.state.pending_updates} == {"add"}
    job = jobs.get(repos, result.job_id)
    assert (job.kind, job.params) == ("skills-update", {"taxonomy_version": result.version})
    assert repos.audit.events(action="taxonomy.import")[0].details["added"] == 2


def test_an_identical_file_is_refused_and_a_changed_one_gets_the_next_label(repos, tmp_path):
    first = write_csv(tmp_path / "a.csv", [["Python", "skill", "py", ""]])
    version = import_taxonomy(repos, first, ADMIN, queue_build=False).version
    with pytest.raises(TaxonomyImportError, match="identical"):
        import_taxonomy(repos, first, ADMIN)
    second = write_csv(tmp_path / "b.csv", [["Python", "skill", "py;python3", ""], ["Go", "skill", "", ""]])
    result = import_taxonomy(repos, second, ADMIN, queue_build=False)
    assert result.version != version and result.job_id is None
    assert result.counts["added"] == 1 and result.counts["changed"] == 1


def test_only_admins_import(repos, tmp_path):
    with pytest.raises(PermissionDenied):
        import_taxonomy(
            repos,
            write_csv(tmp_path / "a.csv", [["Python", "skill", "", ""]]),
            User("rita", frozenset({"reviewer"})),
        )
