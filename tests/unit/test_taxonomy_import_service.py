"""Taxonomy import over in-memory repositories: preview, one new version with its pending
updates and audit event, version labels, the queued skills-update job."""

from __future__ import annotations

import csv

import pytest

from mlops.services import jobs
from mlops.services.identity import PermissionDenied, User
from mlops.services.taxonomy_import import (
    REMOVALS_CONFIRMED,
    RemovalsNeedConfirmation,
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


# -- removal guard ------------------------------------------------------------------------------
def skills_csv(tmp_path, name, count):
    return write_csv(tmp_path / name, [[f"Skill {i}", "skill", "", ""] for i in range(count)])


def test_a_file_removing_most_skills_is_refused_and_writes_nothing(repos, tmp_path):
    import_taxonomy(repos, skills_csv(tmp_path, "full.csv", 300), ADMIN, queue_build=False)
    before = current_version(repos)
    with pytest.raises(RemovalsNeedConfirmation, match=r"removes 299 of the 300 current skills \(100%\)"):
        import_taxonomy(repos, skills_csv(tmp_path, "one.csv", 1), ADMIN, queue_build=False)
    assert current_version(repos) == before
    assert repos.audit.events(action=REMOVALS_CONFIRMED) == []


def test_a_confirmed_removal_is_imported_and_audited(repos, tmp_path):
    import_taxonomy(repos, skills_csv(tmp_path, "full.csv", 300), ADMIN, queue_build=False)
    result = import_taxonomy(
        repos, skills_csv(tmp_path, "one.csv", 1), ADMIN, queue_build=False, allow_removals=True
    )
    assert result.counts["removed"] == 299
    [event] = repos.audit.events(action=REMOVALS_CONFIRMED)
    assert event.actor == "ada" and event.target == result.version
    assert (event.details["removed"], event.details["current"], event.details["max_share"]) == (299, 300, 0.2)


def test_small_removals_need_no_confirmation_and_are_not_audited_as_confirmed(repos, tmp_path):
    import_taxonomy(repos, skills_csv(tmp_path, "ten.csv", 10), ADMIN, queue_build=False)
    preview = preview_import(repos, skills_csv(tmp_path, "nine.csv", 9))
    assert (preview.current_count, preview.removed_share) == (10, 0.1)
    import_taxonomy(repos, tmp_path / "nine.csv", ADMIN, queue_build=False)
    assert repos.audit.events(action=REMOVALS_CONFIRMED) == []


@pytest.mark.parametrize("kept, refused", [(8, False), (7, True)])
def test_the_share_boundary(repos, tmp_path, kept, refused):
    import_taxonomy(repos, skills_csv(tmp_path, "ten.csv", 10), ADMIN, queue_build=False)
    path = skills_csv(tmp_path, "less.csv", kept)  # 2 of 10 removed is exactly 20%: allowed
    assert preview_import(repos, path).needs_removal_confirmation(0.2) is refused
    if refused:
        with pytest.raises(RemovalsNeedConfirmation):
            import_taxonomy(repos, path, ADMIN, queue_build=False)
    else:
        import_taxonomy(repos, path, ADMIN, queue_build=False)


def test_the_share_is_configurable(repos, tmp_path):
    import_taxonomy(repos, skills_csv(tmp_path, "ten.csv", 10), ADMIN, queue_build=False)
    with pytest.raises(RemovalsNeedConfirmation, match="more than the 0%"):
        import_taxonomy(repos, skills_csv(tmp_path, "nine.csv", 9), ADMIN, max_removal_share=0.0)
    import_taxonomy(
        repos, skills_csv(tmp_path, "one.csv", 1), ADMIN, queue_build=False, max_removal_share=1.0
    )


def test_a_first_import_removes_nothing(repos, tmp_path):
    preview = preview_import(repos, skills_csv(tmp_path, "a.csv", 3))
    assert (preview.current_count, preview.removed_share, preview.needs_removal_confirmation(0.0)) == (
        0,
        0.0,
        False,
    )
