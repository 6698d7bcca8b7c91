"""Taxonomy import: preview (nothing written), import (one transaction + build job), CLI."""

from __future__ import annotations

import csv
import io
import json

import pytest

from mlops.services import jobs
from mlops.services.identity import PermissionDenied, User
from mlops.services.taxonomy_import import (
    SKILLS_UPDATE_JOB,
    TaxonomyImportError,
    current_taxonomy,
    current_version,
    import_taxonomy,
    preview_import,
)
from sea_core.taxonomy import TaxonomyError, load_taxonomy

ADMIN = User("adam", frozenset({"admin"}))
ROWS = [
    ("Python programming", "skill", "py;python", "software"),
    ("Data analysis", "skill", "", "data"),
    ("Team leadership", "competence", "lead teams", "management"),
]


def write_csv(path, rows=ROWS):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "type", "alt_labels", "tags"])
        writer.writerows(rows)
    return path


def counts(wh):
    return {
        table: wh.scalar(f"SELECT COUNT(*) FROM {table}")
        for table in ("taxonomy_versions", "taxonomy_skills", "pending_skill_updates", "jobs", "audit_log")
    }


def test_preview_on_an_empty_warehouse_adds_everything_and_writes_nothing(wh, tmp_path):
    preview = preview_import(wh, write_csv(tmp_path / "skills_v1.0.0.csv"))
    assert preview.current_version is None
    assert preview.counts() == {"skills": 3, "added": 3, "changed": 0, "removed": 0}
    assert {row["change"] for row in preview.rows()} == {"added"}
    assert set(counts(wh).values()) == {0}


def test_import_writes_version_skills_updates_audit_and_queues_the_build(wh, tmp_path):
    path = write_csv(tmp_path / "skills_v1.0.0.csv")
    result = import_taxonomy(wh, path, ADMIN)
    assert result.version == "1.0.0" and result.counts["added"] == 3 and result.job_error is None
    assert counts(wh) == {
        "taxonomy_versions": 1,
        "taxonomy_skills": 3,
        "pending_skill_updates": 3,
        "jobs": 1,
        "audit_log": 2,
    }
    head = current_version(wh)
    loaded = load_taxonomy(path)
    assert head["checksum"] == loaded.checksum and head["skill_count"] == 3 and head["created_by"] == "adam"
    job = jobs.get(wh, result.job_id)
    assert job.kind == SKILLS_UPDATE_JOB and job.params == {"taxonomy_version": "1.0.0"}
    # the stored taxonomy reads back identical (same checksum: every field round-trips)
    assert current_taxonomy(wh).checksum == loaded.checksum
    update = wh.query_one("SELECT action, status, payload FROM pending_skill_updates LIMIT 1")
    assert update["action"] == "add" and update["status"] == "pending"
    assert json.loads(update["payload"])["taxonomy_version"] == "1.0.0"


def test_second_import_diffs_against_the_first(wh, tmp_path):
    import_taxonomy(wh, write_csv(tmp_path / "skills_v1.0.0.csv"), ADMIN)
    changed = [
        ("Python programming", "skill", "py;python;python3", "software"),  # changed labels
        ("Data analysis", "skill", "", "data"),  # same
        ("SQL", "skill", "", "data"),
    ]  # added; leadership removed
    path = write_csv(tmp_path / "skills_v1.0.0-new.csv", changed)
    preview = preview_import(wh, path)
    assert preview.current_version == "1.0.0"
    assert [s.title for s in preview.added] == ["SQL"]
    assert [s.title for s in preview.changed] == ["Python programming"]
    assert [s.title for s in preview.removed] == ["Team leadership"]
    result = import_taxonomy(wh, path, ADMIN, allow_removals=True)  # 1 of 3 removed: over 20%
    assert result.version == "1.0.1"  # the file's label was taken: next patch
    assert current_version(wh)["version"] == "1.0.1"
    actions = sorted(
        r["action"] for r in wh.query("SELECT action FROM pending_skill_updates WHERE payload LIKE '%1.0.1%'")
    )
    assert actions == ["add", "change", "remove"]


def test_identical_file_is_refused(wh, tmp_path):
    path = write_csv(tmp_path / "skills_v1.0.0.csv")
    import_taxonomy(wh, path, ADMIN)
    before = counts(wh)
    assert not preview_import(wh, path).has_changes
    with pytest.raises(TaxonomyImportError, match="identical"):
        import_taxonomy(wh, path, ADMIN)
    assert counts(wh) == before


def test_only_admins_import(wh, tmp_path):
    path = write_csv(tmp_path / "skills.csv")
    for user in (User("rita", frozenset({"reviewer"})), None):
        with pytest.raises(PermissionDenied):
            import_taxonomy(wh, path, user)
    assert set(counts(wh).values()) == {0}


@pytest.mark.parametrize("content", ["", "title,type\n", "name,kind\nx,skill\n", "title,type\nA,planet\n"])
def test_bad_files_raise_taxonomy_errors_and_write_nothing(wh, tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TaxonomyError):
        preview_import(wh, path)
    with pytest.raises(TaxonomyError):
        import_taxonomy(wh, path, ADMIN)
    assert set(counts(wh).values()) == {0}


def test_single_skill_file(wh, tmp_path):
    result = import_taxonomy(wh, write_csv(tmp_path / "one.csv", ROWS[:1]), ADMIN, queue_build=False)
    assert result.counts == {"skills": 1, "added": 1, "changed": 0, "removed": 0} and result.job_id is None
    assert counts(wh)["jobs"] == 0


def test_failed_transaction_leaves_nothing(wh, tmp_path, monkeypatch):
    from mlops.services import audit

    def boom(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(audit, "record", boom)
    with pytest.raises(RuntimeError, match="audit down"):
        import_taxonomy(wh, write_csv(tmp_path / "skills.csv"), ADMIN)
    assert set(counts(wh).values()) == {0}


def test_bulk_import_of_the_bundled_esco(wh, esco_taxonomy):
    from sea_core.taxonomy import BUNDLED_ESCO

    result = import_taxonomy(wh, BUNDLED_ESCO, ADMIN, queue_build=False)
    assert result.counts["added"] == len(esco_taxonomy)
    assert wh.scalar("SELECT COUNT(*) FROM taxonomy_skills") == len(esco_taxonomy)
    assert current_taxonomy(wh).checksum == esco_taxonomy.checksum


def test_taxonomy_cli_import(tmp_path, monkeypatch, capsys):
    from mlops.bootstrap import Bootstrap
    from mlops.entrypoints.cli import main
    from mlops.services.auth import create_user
    from mlops.services.identity import system_user

    monkeypatch.setenv("SEA_HOME", str(tmp_path / "home"))
    create_user(Bootstrap().warehouse, "adam", "correct-horse-42", ["admin"], system_user())
    create_user(Bootstrap().warehouse, "rita", "correct-horse-42", ["reviewer"], system_user())
    path = write_csv(tmp_path / "skills_v2.0.0.csv")

    def signed(*argv):  # the actor's password on standard input
        monkeypatch.setattr("sys.stdin", io.StringIO("correct-horse-42\n"))
        return main([*argv, "--password-stdin"])

    assert signed("taxonomy", "import", str(path), "--user", "rita") == 1
    assert "rita cannot import a taxonomy" in capsys.readouterr().err
    assert signed("taxonomy", "import", str(path), "--user", "ghost") == 1
    assert "wrong username or password" in capsys.readouterr().err
    with pytest.raises(SystemExit) as anonymous:
        main(["taxonomy", "import", str(path)])
    assert anonymous.value.code == 2 and "needs an authenticated actor" in capsys.readouterr().err
    assert main(["taxonomy", "preview", str(path)]) == 0
    assert "3 added, 0 changed, 0 removed" in capsys.readouterr().out
    assert signed("taxonomy", "import", str(path), "--user", "adam") == 0
    out = capsys.readouterr().out
    assert "imported taxonomy 2.0.0" in out and "skills-update job" in out
    assert signed("taxonomy", "import", str(path), "--user", "adam") == 1
    assert "identical" in capsys.readouterr().err
    assert signed("taxonomy", "import", str(tmp_path / "missing.csv"), "--user", "adam") == 2  # bad input


def test_cli_import_that_removes_most_skills_needs_allow_removals(wh, tmp_path, monkeypatch, capsys):
    from mlops.bootstrap import Bootstrap
    from mlops.entrypoints.cli import main
    from mlops.services import audit
    from mlops.services.auth import create_user
    from mlops.services.identity import system_user
    from mlops.services.taxonomy_import import REMOVALS_CONFIRMED

    monkeypatch.setenv("SEA_HOME", str(tmp_path / "home"))
    create_user(Bootstrap().warehouse, "adam", "correct-horse-42", ["admin"], system_user())

    def signed(*argv):  # the actor's password on standard input
        monkeypatch.setattr("sys.stdin", io.StringIO("correct-horse-42\n"))
        return main([*argv, "--user", "adam", "--password-stdin", "--no-build"])

    assert signed("taxonomy", "import", str(write_csv(tmp_path / "full.csv"))) == 0
    one = write_csv(tmp_path / "one.csv", ROWS[:1])
    capsys.readouterr()
    assert signed("taxonomy", "import", str(one)) == 1
    assert "removes 2 of the 3 current skills (67%)" in capsys.readouterr().err
    assert signed("taxonomy", "import", str(one), "--allow-removals") == 0
    assert "2 removed" in capsys.readouterr().out
    [event] = audit.events(Bootstrap().warehouse, action=REMOVALS_CONFIRMED)
    assert event["actor"] == "adam" and (event["details"]["removed"], event["details"]["current"]) == (2, 3)
    monkeypatch.setenv("SEA_TAXONOMY_MAX_REMOVAL_SHARE", "1.0")  # the setting: no confirmation needed
    assert signed("taxonomy", "import", str(write_csv(tmp_path / "none.csv", [ROWS[1]]))) == 0
