"""Skill ids, checksums, search and diff of the taxonomy model."""

import pytest

from sea_core.taxonomy import Skill, Taxonomy, skill_id_for


def test_skill_id_is_stable_and_ignores_description():
    a = Skill(title="Data Design", skill_type="tsc", description="one")
    b = Skill(title="data  design", skill_type="TSC", description="two")
    assert a.skill_id == b.skill_id == skill_id_for("Data Design", "tsc")
    assert len(a.skill_id) == 64
    assert a.content_hash() != b.content_hash()


def test_different_type_or_code_gives_different_id():
    assert Skill("x", "tsc").skill_id != Skill("x", "ccs").skill_id
    assert Skill("x", code="A1").skill_id != Skill("x", code="A2").skill_id


@pytest.mark.parametrize("title", ["", "   ", None, 3])
def test_empty_title_rejected(title):
    with pytest.raises(ValueError, match="title"):
        Skill(title=title)


def test_duplicate_skill_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        Taxonomy([Skill("python"), Skill("Python")])


def test_checksum_is_order_independent_and_content_sensitive():
    a = Taxonomy([Skill("a"), Skill("b")])
    b = Taxonomy([Skill("b"), Skill("a")])
    c = Taxonomy([Skill("a"), Skill("b", description="changed")])
    assert a.checksum == b.checksum != c.checksum


def test_diff_added_changed_removed():
    old = Taxonomy([Skill("a"), Skill("b"), Skill("c")])
    new = Taxonomy([Skill("a"), Skill("b", description="new"), Skill("d")])
    diff = old.diff(new)
    assert [s.title for s in diff["added"]] == ["d"]
    assert [s.title for s in diff["changed"]] == ["b"]
    assert [s.title for s in diff["removed"]] == ["c"]


def test_empty_and_single_skill_taxonomy():
    assert len(Taxonomy([])) == 0 and Taxonomy([]).checksum
    one = Taxonomy([Skill("only")])
    assert one.get(one.skill_ids[0]).title == "only" and one.index_of(one.skill_ids[0]) == 0


def test_round_trip_dict():
    s = Skill("x", tags=["Emerging TSC"], proficiency_levels=["3", "4"])
    assert Skill.from_dict(s.to_dict()) == s
