"""The ranked taxonomy search in a real headless Chromium (issue 13 item 4): an admin searches the
served taxonomy on the Taxonomy page; hits are ranked by whole words and prefixes of titles and
alternative labels and name the label that matched (the tiny test encoder's meaning side is
random, so only name matches are asserted). Screenshot: test-output/screenshots/taxonomy-search.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import (
    WAIT_MS,
    app_environment,
    go_to,
    need_browser,
    running_app,
    screenshot,
    sign_in_as,
)
from tests.fixtures.app_data import SMALL_SKILLS, create_users, write_small_taxonomy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEARCH_SKILLS = [
    *SMALL_SKILLS,
    ("manage relationships with stakeholders", "skill", "stakeholder relationship management", "business"),
    ("embargo regulations", "knowledge", "laws on embargoes", "law"),
    ("operate crosscut saw", "skill", "use crosscut saws", "forestry"),
]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, tiny_sentence_encoder_dir):
    need_browser()
    from mlops.bootstrap import Bootstrap
    from mlops.config import load_settings

    work = tmp_path_factory.mktemp("e2e-taxonomy")
    env = app_environment(work, tiny_sentence_encoder_dir)
    env["SEA_TAXONOMY_PATH"] = str(write_small_taxonomy(work / "search.csv", SEARCH_SKILLS))
    context = Bootstrap(load_settings(env=env, secrets_path=work / "none.toml"))
    create_users(context.warehouse)
    with running_app(work, env) as url:
        yield url
    context.close()


def results(page) -> list[tuple[str, str]]:
    """(skill, matched) of each row of the search results table."""
    rows = page.locator('[data-testid="stTable"] tbody tr')
    return [
        (row.locator("th").first.inner_text().strip(), row.locator("td").nth(1).inner_text().strip())
        for row in rows.all()
    ]


def search(page, query: str) -> list[tuple[str, str]]:
    """Type `query`, wait until the page answered it (a new results table or "no match")."""
    table = page.locator('[data-testid="stTable"]')
    before = table.first.inner_html() if table.count() else None
    box = page.get_by_label("Find a skill by name or meaning", exact=True)
    box.fill(query)
    box.press("Enter")
    page.wait_for_function(
        """before => {
            const t = document.querySelector('[data-testid="stTable"]');
            const none = [...document.querySelectorAll('p')].some(p => p.innerText === 'No skill matches that search.');
            return (t && t.innerHTML !== before) || none;
        }""",
        arg=before,
        timeout=WAIT_MS,
    )
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=WAIT_MS)
    return results(page)


def test_taxonomy_search_ranks_names_and_shows_the_matched_label(app_url, chromium_browser):
    page = chromium_browser.new_page(viewport={"width": 1400, "height": 1100})
    sign_in_as(page, app_url, "adam")
    go_to(page, "Taxonomy")
    found = search(page, "stakeholder management")
    assert found[0] == ("manage relationships with stakeholders", "stakeholder relationship management")
    screenshot(page, "taxonomy-search")
    # "aws" is inside "laws" and "saws": no name match any more (the old substring search offered both)
    names = [(skill, matched) for skill, matched in search(page, "aws") if matched != "(by meaning)"]
    assert names == []
    assert search(page, "query lang")[0] == ("SQL", "structured query language")
    page.close()
