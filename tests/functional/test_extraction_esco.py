"""Functional: span extraction and matching together find the expected ESCO skills in job texts
(the default encoder and the bundled ESCO taxonomy, shared across tests)."""

import pytest

JOBS = [
    (
        "We are looking for a data scientist to build machine learning models in Python, query "
        "databases with SQL and present insights to stakeholders.",
        {"SQL", "Python (computer programming)"},
        {"machine learning"},
    ),
    (
        "Registered nurse needed to administer medication, monitor patients' vital signs and maintain "
        "accurate patient records.",
        {"administer prescribed medication", "monitor patient's vital signs"},
        set(),
    ),
    (
        "The accountant will prepare financial statements, manage payroll and ensure compliance with "
        "tax legislation.",
        {"prepare financial statements"},
        {"manage payroll"},
    ),
    (
        "Front-end developer with strong JavaScript, HTML and CSS skills to build responsive web "
        "applications.",
        {"JavaScript", "CSS"},
        {"use markup languages"},
    ),
    (
        "Warehouse operative to operate forklift trucks, load and unload goods and keep inventory records.",
        {"operate forklift"},
        set(),
    ),
]


@pytest.mark.parametrize(
    "text,in_output,in_ranking", JOBS, ids=["data", "nurse", "accountant", "web", "warehouse"]
)
def test_job_text_yields_expected_skills(esco_pipeline, text, in_output, in_ranking):
    record = esco_pipeline.extract(text)
    output = {s["skillTitle"] for s in record["skillExtractOutput"]}
    assert in_output <= output, output
    ranking = {esco_pipeline.taxonomy.get(sid).title for sid, _ in esco_pipeline.rank(text, k=15)}
    assert (in_output | in_ranking) <= ranking, ranking


def test_long_job_description_gives_skills_from_every_part(esco_pipeline):
    text = " ".join(t for t, _, _ in JOBS)
    output = {s["skillTitle"] for s in esco_pipeline.extract(text, top_k=30)["skillExtractOutput"]}
    for _, expected, _ in JOBS:
        assert expected & output, (expected, output)


def test_evidence_phrase_of_a_match(esco_pipeline):
    text = "You will operate forklift trucks in our warehouse."
    skill = next(
        s for s in esco_pipeline.extract(text)["skillExtractOutput"] if s["skillTitle"] == "operate forklift"
    )
    assert "forklift" in skill["phrase"]
    assert text[skill["phraseStart"] : skill["phraseEnd"]] == skill["phrase"]


def test_html_and_emoji_in_a_real_text(esco_pipeline):
    text = "<p>🚀 <b>Python</b> developer &amp; SQL lover</p>"
    record = esco_pipeline.extract(text)["skillExtractOutput"]
    assert "Python (computer programming)" in {s["skillTitle"] for s in record}
    assert all("<" not in s["phrase"] and ">" not in s["phrase"] for s in record)
    top = {esco_pipeline.taxonomy.get(sid).title for sid, _ in esco_pipeline.rank(text, k=3)}
    assert {"Python (computer programming)", "SQL"} <= top, top


def test_an_html_posting_gets_the_skills_of_its_list_items(esco_pipeline):
    # A job board's HTML: read as words, "<li>" joined the items into phrases such as
    # "SQL</li><li", the list was one sentence to the output rule (one skill out of it), and
    # "<ORGANIZATION>" matched "organisational structure".
    items = ["Python and SQL", "operate forklift trucks", "prepare financial statements"]
    html = "<h2>About <ORGANIZATION></h2><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
    got = esco_pipeline.extract(html)["skillExtractOutput"]
    assert {"SQL", "operate forklift", "prepare financial statements"} <= {s["skillTitle"] for s in got}
    for skill in got:
        assert "<" not in skill["phrase"] and ">" not in skill["phrase"]
        assert html[skill["phraseStart"] : skill["phraseEnd"]] == skill["phrase"]
    ranking = [esco_pipeline.taxonomy.get(sid).title for sid, _ in esco_pipeline.rank(html, k=15)]
    assert not [t for t in ranking if "organisation" in t], ranking


def test_evidence_reads_as_the_rendered_text_and_points_into_the_html(esco_pipeline):
    html = "<ul><li>Own the P&amp;L budget</li><li>Python and SQL</li></ul>"
    got = esco_pipeline.extract(html)["skillExtractOutput"]
    budget = [s for s in got if "budget" in s["phrase"]]
    assert budget and {s["phrase"] for s in budget} == {"P&L budget"}  # not "P&    L budget"
    assert {html[s["phraseStart"] : s["phraseEnd"]] for s in budget} == {"P&amp;L budget"}


@pytest.mark.parametrize("text", ["<br>", "<p> </p>", "&nbsp;", "<!-- draft -->", " <b></b> <ORGANIZATION> "])
def test_a_text_that_is_only_markup_has_no_skills(esco_pipeline, text):
    assert esco_pipeline.extract(text)["skillExtractOutput"] == []  # was "R", nearest to nothing
    assert esco_pipeline.rank(text, k=5) == []


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\u200d", "\ufeff", "&shy;", "&#8203;"])
def test_invisible_characters_inside_words_rank_as_the_clean_text(esco_pipeline, invisible):
    clean = "Front-end developer with strong JavaScript, HTML and CSS skills to build responsive web applications."
    scraped = clean.replace("HTML", f"HT{invisible}ML").replace("JavaScript", f"Java{invisible}Script")
    ranked = {text: esco_pipeline.rank(text, k=15) for text in (clean, scraped)}
    assert [skill for skill, _ in ranked[scraped]] == [skill for skill, _ in ranked[clean]]
    assert [c for _, c in ranked[scraped]] == pytest.approx([c for _, c in ranked[clean]], abs=1e-5)


def test_whole_text_neighbours_beyond_the_tenth_get_a_late_interaction_hearing(esco_pipeline):
    # matcher 4: the skills the whole text is near but no phrase names ("logistics" in a
    # warehouse text, "communication" in an HR one) used to sit below the top 20 the re-ranker
    # reads (ranks 21-24 with matcher 3); late interaction over the top 40 of a pool with 30
    # whole-text neighbours lifts them into the top 15.
    from sea_core.golden import load_golden_set
    from sea_core.matching import previous_matcher

    texts = {g.name: g.text for g in load_golden_set()}
    cases = {"warehouse_supervisor": {"logistics", "operate forklift"}, "hr_generalist": {"communication"}}
    older = esco_pipeline.with_match(previous_matcher(esco_pipeline.config.match))
    for name, expected in cases.items():
        top = {esco_pipeline.taxonomy.get(sid).title for sid, _ in esco_pipeline.rank(texts[name], k=15)}
        before = {esco_pipeline.taxonomy.get(sid).title for sid, _ in older.rank(texts[name], k=15)}
        assert expected <= top, (name, top)
        assert not expected & before, (name, before)  # what matcher 3 missed
