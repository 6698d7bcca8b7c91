"""The ranked skill search on the bundled ESCO taxonomy and encoder, with the queries a reviewer
typed when the old substring search failed them (issue 13 item 4)."""

import pytest

from sea_core.labels import skill_names
from sea_core.taxonomy.search import SkillSearch


@pytest.fixture(scope="module")
def search(esco_pipeline):
    taxonomy = esco_pipeline.taxonomy
    return SkillSearch(
        taxonomy, skill_names(taxonomy), esco_pipeline.index.matrix, esco_pipeline.encoder.encode
    )


def top(search, query, n=5):
    return [hit.skill.title for hit in search.search(query, n)]


def test_stakeholder_management_finds_stakeholder_skills(search):
    titles = top(search, "stakeholder management")
    assert titles, "the old substring search found nothing"
    assert all("stakeholder" in t.lower() for t in titles[:3])
    assert "manage relationships with stakeholders" in titles


def test_aws_finds_cloud_not_laws_or_saws(search):
    titles = top(search, "aws", 8)
    assert "cloud technologies" in titles[:3]
    assert "embargo regulations" not in titles
    assert "operate crosscut saw" not in titles
    assert search.search("aws", 1)[0].how == "meaning"


def test_airflow_offers_more_than_fluid_dynamics(search):
    # ESCO 1.1.0 has no Apache Airflow skill; air-flow skills by name and meaning are the honest answer
    titles = top(search, "airflow", 8)
    assert len(titles) >= 3
    assert "control air flow" in titles


@pytest.mark.parametrize(
    "query, first",
    [("python", "Python (computer programming)"), ("sql", "SQL"), ("data warehouse", "data warehouse")],
)
def test_exact_tool_and_skill_names_come_first(search, query, first):
    assert top(search, query, 1) == [first]


def test_type_ahead_prefix_finds_the_skill(search):
    assert top(search, "pyth", 1) == ["Python (computer programming)"]


def test_hits_say_which_name_matched(search):
    hit = next(h for h in search.search("stakeholder management", 10) if h.how != "meaning")
    assert "stakeholder" in hit.matched_name.lower()
