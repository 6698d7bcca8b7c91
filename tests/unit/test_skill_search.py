"""Ranked skill search: names by whole words and prefixes, meaning by the loaded vectors."""

import numpy as np
import pytest

from sea_core.taxonomy import Skill, Taxonomy
from sea_core.taxonomy.search import MIN_MEANING, SkillSearch, words

SKILLS = [
    Skill("manage relationships with stakeholders", alt_labels=("stakeholder relationship management",)),
    Skill("embargo regulations", alt_labels=("laws on embargoes",)),
    Skill("operate crosscut saw"),
    Skill("cloud technologies"),
    Skill("Python (computer programming)"),
    Skill("use python libraries"),
    Skill("snake handling", alt_labels=("python care",)),
    Skill("management of staff"),
]
TAXONOMY = Taxonomy(SKILLS)
NAMES = [[s.title, *s.alt_labels] for s in SKILLS]


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def fake_space():
    """Skill vectors on axes; queries mapped by a lookup (like an encoder that knows AWS is cloud)."""
    dims = 20  # more axes than skills, so a query can sit far from all of them
    matrix = np.stack([unit(np.eye(dims)[i] + 0.01) for i in range(len(SKILLS))])
    known = {"aws": matrix[3], "kafka": unit(np.ones(dims))}

    def encode(texts):
        return np.stack([known.get(t.lower(), unit(np.arange(1, dims + 1))) for t in texts])

    return matrix, encode


def titles(hits):
    return [h.skill.title for h in hits]


def test_words_drop_stop_words_and_keep_tool_names():
    assert words("Manage the C++ and C# code of a Team") == ["manage", "c++", "c#", "code", "team"]


def test_both_words_in_any_order_and_plurals_by_prefix():
    hits = SkillSearch(TAXONOMY, NAMES).search("stakeholder management")
    assert titles(hits)[0] == "manage relationships with stakeholders"
    assert hits[0].matched_name == "stakeholder relationship management"
    assert hits[0].how == "name"


def test_a_word_inside_another_word_does_not_match():
    # the old substring search offered "embargo regulations" (l-aws) and "crosscut saw" for "aws"
    assert SkillSearch(TAXONOMY, NAMES).search("aws") == []


def test_meaning_finds_what_no_name_holds():
    matrix, encode = fake_space()
    hits = SkillSearch(TAXONOMY, NAMES, matrix, encode).search("aws", limit=3)
    assert titles(hits)[0] == "cloud technologies"
    assert hits[0].how == "meaning"
    assert hits[0].matched_name == "cloud technologies"
    assert "embargo regulations" not in titles(hits)


def test_weak_meaning_alone_is_not_offered():
    matrix, encode = fake_space()
    # "kafka" sits at the same small cosine from every skill: below MIN_MEANING, nothing shown
    cosines = matrix @ encode(["kafka"])[0]
    assert cosines.max() < MIN_MEANING
    assert SkillSearch(TAXONOMY, NAMES, matrix, encode).search("kafka") == []


def test_title_match_ranks_before_alternative_label_match():
    hits = SkillSearch(TAXONOMY, NAMES).search("pyth")
    assert titles(hits)[0] == "Python (computer programming)"
    assert set(titles(hits)) == {"Python (computer programming)", "use python libraries", "snake handling"}
    assert [h.matched_name for h in hits if h.skill.title == "snake handling"] == ["python care"]


def test_exact_name_beats_longer_names():
    hits = SkillSearch(TAXONOMY, [[s.title] for s in SKILLS] + []).search("cloud technologies")
    assert titles(hits) == ["cloud technologies"]


@pytest.mark.parametrize("query", ["", "   ", "of the and", "!!!"])
def test_blank_or_stop_word_queries_give_nothing(query):
    assert SkillSearch(TAXONOMY, NAMES).search(query) == []


def test_limit_boundaries():
    search = SkillSearch(TAXONOMY, NAMES)
    assert search.search("python", limit=0) == []
    assert len(search.search("python", limit=1)) == 1
    assert len(search.search("python", limit=100)) == 3


def test_one_letter_words_match_whole_words_only():
    # "m" must not match "manage", "management", ... as a prefix
    assert SkillSearch(TAXONOMY, NAMES).search("m") == []


def test_mismatched_inputs_are_refused():
    matrix, encode = fake_space()
    with pytest.raises(ValueError, match="names for 2 skills"):
        SkillSearch(TAXONOMY, NAMES[:2])
    with pytest.raises(ValueError, match="matrix has 3 rows"):
        SkillSearch(TAXONOMY, NAMES, matrix[:3], encode)


def test_picker_labels_say_how_a_hit_matched():
    from mlops.services.skill_search import search_label

    matrix, encode = fake_space()
    search = SkillSearch(TAXONOMY, NAMES, matrix, encode)
    [by_label] = search.search("python care", 1)
    assert search_label(by_label) == "snake handling (skill) · matched “python care”"
    [by_meaning] = search.search("aws", 1)
    assert search_label(by_meaning) == "cloud technologies (skill) · by meaning"
    [by_title] = search.search("cloud technologies", 1)
    assert search_label(by_title) == "cloud technologies (skill)"


def test_titles_first_then_alternative_labels_whole_words_only():
    skills = [
        Skill("python"),
        Skill("use python libraries"),
        Skill("snake handling", alt_labels=("python care",)),
        Skill("embargo regulations", alt_labels=("laws on embargoes",)),
    ]
    search = SkillSearch(Taxonomy(skills), [[s.title, *s.alt_labels] for s in skills])
    assert titles(search.search("pyth")) == ["python", "use python libraries", "snake handling"]
    assert search.search("aws") == []  # no match inside "laws"
    assert search.search("   ") == []
    assert titles(search.search("PYTHON", limit=1)) == ["python"]


class _NoModelServices:
    """Just what `skill_search` reads of the services: a taxonomy and no loadable model."""

    def __init__(self, taxonomy):
        self.taxonomy = taxonomy

    def inference(self, stage, log=True):
        from mlops.bootstrap import ServiceUnavailable

        raise ServiceUnavailable("no model in this test")


def test_the_app_keeps_only_the_most_recent_searches(monkeypatch):
    from collections import OrderedDict

    from mlops.services import skill_search as module

    monkeypatch.setattr(module, "_searches", OrderedDict())
    versions = [Taxonomy([*SKILLS, Skill(f"skill of version {v}")]) for v in range(module.MAX_SEARCHES + 2)]
    first = module.skill_search(_NoModelServices(versions[0]))
    assert module.skill_search(_NoModelServices(versions[0])) is first  # reused, not rebuilt
    for taxonomy in versions[1:]:
        module.skill_search(_NoModelServices(taxonomy))
    assert len(module._searches) == module.MAX_SEARCHES  # boundary: never more than the bound
    newest = module.skill_search(_NoModelServices(versions[-1]))
    assert newest is module.skill_search(_NoModelServices(versions[-1]))
    assert module.skill_search(_NoModelServices(versions[0])) is not first  # let go, built again
    assert titles(newest.search("version 5")) == ["skill of version 5"]
