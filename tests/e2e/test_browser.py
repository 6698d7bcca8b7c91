"""The app end to end in a real headless Chromium (Debian's, driven by Playwright; no browser
download): `streamlit run app.py` on a free port with a temporary SEA_HOME, the small taxonomy
and tiny model bundles (1.0.0 in PROD, 1.1.0 waiting in DEV). Screenshots of each page go to
`test-output/screenshots/`."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import (
    WAIT_MS,
    app_environment,
    go_to,
    need_browser,
    running_app,
    screenshot,
    wait_for_text,
)
from tests.fixtures.app_data import PASSWORD, SAMPLE_TEXT, create_users, register_bundle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
shot = screenshot
see = wait_for_text
open_page = go_to


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, tiny_sentence_encoder_dir):
    """A running app and a Bootstrap on the same data folder."""
    need_browser()
    from mlops.bootstrap import Bootstrap
    from mlops.config import load_settings

    work = tmp_path_factory.mktemp("e2e")
    env = app_environment(work, tiny_sentence_encoder_dir)
    context = Bootstrap(load_settings(env=env, secrets_path=work / "none.toml"))
    create_users(context.warehouse)
    register_bundle(context, "1.0.0", tiny_sentence_encoder_dir, stages=("dev", "uat", "prod"), work=work)
    register_bundle(context, "1.1.0", tiny_sentence_encoder_dir, stages=("dev",), work=work)
    with running_app(work, env) as url:
        yield url, context
    context.close()


@pytest.fixture(scope="module")
def browser(chromium_browser):
    return chromium_browser


def sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    see(page, f"Signed in as {username}")


def sign_out(page) -> None:
    open_page(page, "Sign out")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username", exact=True).wait_for(timeout=WAIT_MS)


def test_reviewer_admin_and_stakeholder_journeys(app_server, browser):
    from mlops.services import jobs

    url, context = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    see(page, "Sign in to review")
    shot(page, "0-sign-in")

    # a wrong password is a message, not a traceback
    page.get_by_label("Username", exact=True).fill("rita")
    page.get_by_label("Password", exact=True).fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    see(page, "wrong username or password")

    # -- reviewer: extract, decide, add, submit; the review is stored --------------------------
    sign_in(page, url, "rita")
    nav = page.get_by_test_id("stSidebarNav")
    assert nav.get_by_text("Review", exact=True).is_visible()
    for admin_page in ("Models", "Taxonomy", "Audit", "Monitoring", "UAT"):
        assert nav.get_by_text(admin_page, exact=True).count() == 0
    page.get_by_label("Job or course description", exact=True).fill(SAMPLE_TEXT)
    page.get_by_role("button", name="Extract skills").click()
    see(page, "Skills found")
    accept = page.get_by_text("Accept", exact=True)
    if accept.count():
        accept.first.click()
    search = page.get_by_label("Search the taxonomy (titles and alternative labels)", exact=True)
    search.fill("project")
    search.press("Enter")
    page.get_by_role("button", name="Add skill").click()
    # the tiny random model may already have predicted it (then it is said so)
    outcome = page.get_by_text("+ Project management").or_(page.get_by_text("already in the list"))
    outcome.first.wait_for(timeout=WAIT_MS)
    was_added = page.get_by_text("+ Project management").count() > 0
    shot(page, "1-review")
    page.get_by_role("button", name="Submit review").click()
    see(page, "Saved:")
    shot(page, "1-review-saved")
    stored = context.warehouse.query("SELECT reviewer, n_confirmed FROM feedback_submissions")
    assert len(stored) == 1 and stored[0]["reviewer"] == "rita" and stored[0]["n_confirmed"] >= 1
    decided = context.warehouse.query("SELECT skill_id, decision FROM feedback")
    titles = {(context.taxonomy.get(r["skill_id"]).title, r["decision"]) for r in decided}
    assert any(decision == "accepted" for _, decision in titles)  # the first skill, accepted
    if was_added:
        assert ("Project management", "added") in titles
    # an admin page's URL does not open it for a reviewer (a new tab starts signed out)
    page.goto(f"{url}/models")
    page.get_by_label("Username", exact=True).wait_for(timeout=WAIT_MS)
    assert page.get_by_role("heading", name="Models").count() == 0

    # -- admin: queue a build and watch its progress ---------------------------------------------
    sign_in(page, url, "adam")
    open_page(page, "Models")
    page.get_by_role("button", name="Retrain (fine-tune on feedback)").click()
    see(page, "Queued build job")
    job = jobs.list_jobs(context.warehouse, kind="build")[0]
    assert job.status == "queued"
    assert jobs.claim_next(context.warehouse, "e2e-worker", kinds=["build"]).job_id == job.job_id
    jobs.report_progress(context.warehouse, job.job_id, 0.5, "fine-tuning epoch 1 of 2")
    see(page, "fine-tuning epoch 1 of 2", timeout=30_000)  # the live fragment refreshes
    shot(page, "3-models")
    open_page(page, "Monitoring")
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=WAIT_MS)  # the quality chart
    page.wait_for_timeout(1000)
    shot(page, "2-monitoring")
    for title, name in (("Taxonomy", "5-taxonomy"), ("Audit", "6-audit")):
        open_page(page, title)
        page.wait_for_timeout(1500)
        shot(page, name)
    see(page, "feedback.submit")
    sign_out(page)

    # -- stakeholder: compare the candidate with PROD and sign it off ------------------------------
    sign_in(page, url, "stan")
    open_page(page, "UAT")
    see(page, "Candidate (DEV): 1.1.0")
    page.get_by_role("button", name="Compare with PROD").click()
    see(page, "Skills gained")
    page.get_by_label("Comment (required)", exact=True).fill("Checked on recent texts: fine.")
    page.get_by_role("button", name="Sign off 1.1.0 for UAT").click()
    see(page, "Signed off")
    shot(page, "4-uat")
    assert context.registry.stage("uat") == "1.1.0"
    page.close()
