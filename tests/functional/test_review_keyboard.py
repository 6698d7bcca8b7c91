"""The Review page's keyboard controls and grouped suggestions under `AppTest` (the buttons the
keys press: A accept, X reject, J/K move, 1-9 accept an alternative, Shift+A/Shift+X all
remaining, N next text, Ctrl+Enter submit), on the small taxonomy and the fake inference."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mlops.entrypoints.ui.review_state import ReviewItem
from tests.fixtures.app_data import SAMPLE_TEXT
from tests.functional import test_app_pages

# the same fixtures as the other page tests: a context on the small taxonomy, one user per role
ctx = test_app_pages.ctx
users = test_app_pages.users

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def rita(users):
    return users["rita"]


def review(user, item: ReviewItem | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.session_state["sea_user"] = user
    at.session_state["sea_signed_in_at"] = time.time()
    if item is not None:
        at.session_state["review_item"] = item
    return at.run()


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def decisions(at: AppTest) -> list[str | None]:
    return [r.value for r in at.radio if r.key and r.key.startswith("decision_")]


def extracted(at: AppTest) -> AppTest:
    at.text_area(key="review_text").input(SAMPLE_TEXT)
    return press(at, "review_extract")


def test_keys_are_shown_and_accept_reject_move_the_marker(ctx, rita):
    at = extracted(review(rita))
    shortcuts = {b.key: b.proto.shortcut for b in at.button if b.key and b.key.startswith("review_")}
    assert shortcuts["review_key_accept"].lower() == "a"
    assert shortcuts["review_submit"].lower() in {"ctrl+enter", "mod+enter"}
    assert any("Keys:" in c.value for c in at.caption)
    press(at, "review_key_accept")  # the first skill; the marker moves on
    press(at, "review_key_reject")
    press(at, "review_key_next")  # skip the third
    press(at, "review_key_accept")
    press(at, "review_key_previous")
    press(at, "review_key_previous")
    assert decisions(at) == ["accept", "reject", None, "accept", None]
    assert any(m.value.startswith("**▶ 3.") for m in at.markdown)
    press(at, "review_reject_all")
    assert decisions(at) == ["accept", "reject", "reject", "accept", "reject"]
    press(at, "review_submit")
    rows = ctx.warehouse.query("SELECT skill_id, decision FROM feedback ORDER BY skill_id")
    assert sorted((ctx.taxonomy.get(r["skill_id"]).title, r["decision"]) for r in rows) == [
        ("Data analysis", "rejected"),
        ("Machine learning", "rejected"),
        ("Python programming", "accepted"),
        ("SQL", "accepted"),
        ("Statistics", "rejected"),
    ]


def test_accept_all_remaining_keeps_earlier_rejections(ctx, rita):
    at = extracted(review(rita))
    press(at, "review_key_reject")
    press(at, "review_accept_all")
    assert decisions(at) == ["reject", "accept", "accept", "accept", "accept"]
    assert at.session_state["review_item"].undecided == 0


def test_near_duplicates_are_one_suggestion_and_digits_accept_an_alternative(ctx, rita):
    pm = ctx.taxonomy.get(next(s.skill_id for s in ctx.taxonomy if s.title == "Project management"))
    java = ctx.taxonomy.get(next(s.skill_id for s in ctx.taxonomy if s.title == "Java programming"))
    skills = [
        {
            "skill_id": pm.skill_id,
            "title": "Project management",
            "phrase": "manage projects",
            "confidence": 0.8,
        },
        {"skill_id": "near", "title": "Manage projects", "phrase": "manage projects", "confidence": 0.7},
        {"skill_id": java.skill_id, "title": "Java programming", "phrase": "Java", "confidence": 0.6},
    ]
    for skill in skills:
        skill.update(type="skill", tags=[], start=None, end=None)
    item = ReviewItem("r" * 64, "1.0.0", "We manage projects in Java.", skills)
    at = review(rita, item)
    assert len(decisions(at)) == 2  # two suggestions for three predicted skills
    [alternatives] = [r for r in at.radio if r.key and r.key.startswith("pick_")]
    assert alternatives.options == ["Project management · 0.80", "Manage projects · 0.70"]
    press(at, "review_keep_2")  # the key "2": accept the second alternative
    assert decisions(at) == ["accept", None]
    kept = at.session_state["review_item"]
    assert kept.accepted == ["near"] and kept.rejected == [pm.skill_id]
    assert [b.key for b in at.button if b.key and b.key.startswith("review_keep_")] == []  # marker moved on


def test_next_text_key_takes_the_queue(ctx, rita):
    ctx.inference().predict(["Team leadership and customer service."])
    at = extracted(review(rita))  # a pasted text
    press(at, "review_accept_all")
    press(at, "review_submit")
    assert any(s.value.startswith("Saved: 5 confirmed") for s in at.success)
    press(at, "review_key_next_text")  # N: the queue's next text
    assert at.radio(key="review_source").value == "Next from the queue"
    assert ":orange-background[Team leadership]" in "".join(m.value for m in at.markdown)
    press(at, "review_accept_all")
    press(at, "review_submit")  # from the queue: the next one at once, and there is none
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions") == 2
    assert at.button(key="review_next").proto.shortcut.lower() == "n"  # N, with no text shown
    press(at, "review_next")
    assert any("queue is empty" in i.value for i in at.info)
