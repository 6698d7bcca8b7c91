"""The Taxonomy page's import section under `AppTest`: a file removing more than the allowed
share of the current skills needs the confirmation box, and the confirmation is audited."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mlops.entrypoints.ui import context as ui_context
from mlops.services import audit
from mlops.services import taxonomy_import as importer
from mlops.services.identity import system_user
from tests.fixtures.app_data import SMALL_SKILLS, create_users, make_context, write_small_taxonomy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def ctx(tmp_path, monkeypatch):
    context = make_context(tmp_path / "home", write_small_taxonomy(tmp_path / "skills.csv"))
    monkeypatch.setattr(ui_context, "OVERRIDE", context)
    importer.import_taxonomy(context.warehouse, tmp_path / "skills.csv", system_user(), queue_build=False)
    yield context
    context.close()


def taxonomy_page(ctx, tmp_path, skills) -> AppTest:
    """The page as admin `adam`, with the preview of a file holding `skills` pending."""
    user = create_users(ctx.warehouse)["adam"]
    path = write_small_taxonomy(tmp_path / "next.csv", skills)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["sea_user"] = user
    at.session_state["sea_signed_in_at"] = time.time()
    at.session_state["taxonomy_preview"] = (str(path), importer.preview_import(ctx.warehouse, path))
    at.run()
    at.switch_page("pages/taxonomy.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_removing_most_skills_needs_the_box_and_is_audited(ctx, tmp_path):
    at = taxonomy_page(ctx, tmp_path, SMALL_SKILLS[:1])
    removed = len(SMALL_SKILLS) - 1
    assert any(f"removes {removed} of the {len(SMALL_SKILLS)} current skills" in w.value for w in at.warning)
    button = at.button(key="taxonomy_import_button")
    assert button.disabled
    at.checkbox(key="taxonomy_confirm_removals").check().run()
    assert not at.button(key="taxonomy_import_button").disabled
    at.button(key="taxonomy_import_button").click().run()
    assert not at.exception and any("Imported taxonomy version" in s.value for s in at.success)
    [event] = audit.events(ctx.warehouse, action=importer.REMOVALS_CONFIRMED)
    assert event["actor"] == "adam" and event["details"]["removed"] == removed


def test_a_small_change_needs_no_box(ctx, tmp_path):
    at = taxonomy_page(ctx, tmp_path, [*SMALL_SKILLS, ("Brand new skill", "skill", "", "")])
    assert not at.checkbox and not at.warning
    assert not at.button(key="taxonomy_import_button").disabled
