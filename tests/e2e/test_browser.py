"""The app end to end in a real headless Chromium (Debian's, driven by Playwright; no browser
download): `streamlit run app.py` on a free port with a temporary SEA_HOME, the small taxonomy
and tiny model bundles (1.0.0 in PROD, 1.1.0 waiting in DEV). Screenshots of each page go to
`test-output/screenshots/`. Covered: the three roles' journeys, reload-safe sessions (reload,
typed URL, deep link, sign-out invalidating the cookie's session server-side) and keyboard
review."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import (
    WAIT_MS,
    app_environment,
    go_to,
    need_browser,
    running_app,
    screenshot,
    sign_in_as,
    wait_for_text,
)
from tests.fixtures.app_data import PASSWORD, SAMPLE_TEXT, create_users, register_bundle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
shot = screenshot
sign_in = sign_in_as
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
        accept.first.click()  # the toolbar's Accept (key A): the first skill
        # one action per rerun: Streamlit merges clicks sent while the page is still updating
        page.locator('[class*="st-key-decision_"] input:checked').first.wait_for(
            state="attached", timeout=WAIT_MS
        )
    search = page.get_by_label("Search the taxonomy (names and meaning)", exact=True)
    search.fill("project")
    search.press("Enter")
    page.get_by_role("button", name="Add skill").click()
    # the tiny random model may already have predicted it (then it is said so)
    outcome = page.get_by_text("+ Project management").or_(page.get_by_text("already in the list"))
    outcome.first.wait_for(timeout=WAIT_MS)
    was_added = page.get_by_text("+ Project management").count() > 0
    shot(page, "1-review")
    page.get_by_role("button", name="Submit review").click()
    page.get_by_text(re.compile(r"^Saved: ")).first.wait_for(timeout=WAIT_MS)  # not "Not saved:"
    shot(page, "1-review-saved")
    stored = context.warehouse.query("SELECT reviewer, n_confirmed FROM feedback_submissions")
    assert len(stored) == 1 and stored[0]["reviewer"] == "rita" and stored[0]["n_confirmed"] >= 1
    decided = context.warehouse.query("SELECT skill_id, decision FROM feedback")
    titles = {(context.taxonomy.get(r["skill_id"]).title, r["decision"]) for r in decided}
    assert any(decision == "accepted" for _, decision in titles)  # the first skill, accepted
    if was_added:
        assert ("Project management", "added") in titles
    # an admin page's URL does not open it for a reviewer (still signed in: the cookie)
    page.goto(f"{url}/models")
    see(page, "Signed in as rita")
    assert page.get_by_role("heading", name="Models").count() == 0
    sign_out(page)

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


def session_cookie(browser_context) -> dict | None:
    return next((c for c in browser_context.cookies() if c["name"] == "sea_session"), None)


def no_page_not_found(page) -> None:
    page.wait_for_timeout(500)
    for text in ("Page not found", "does not exist"):
        assert page.get_by_text(text).count() == 0, text


def test_sessions_survive_reloads_deep_links_and_end_server_side(app_server, browser):
    url, context = app_server
    tab = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = tab.new_page()
    # a bookmark while signed out: the sign-in page, no "page not found"; then that page
    page.goto(f"{url}/audit")
    see(page, "Sign in to review")
    no_page_not_found(page)
    shot(page, "7-deep-link-sign-in")
    page.get_by_label("Username", exact=True).fill("adam")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Audit").first.wait_for(timeout=WAIT_MS)
    assert page.url.rstrip("/").endswith("/audit")
    cookie = session_cookie(tab)
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("sea_session") == -1  # not readable by scripts
    stored = context.warehouse.query(
        "SELECT secret_hash, username, state FROM web_sessions WHERE username = 'adam'"
    )
    assert [(r["username"], r["state"]) for r in stored] == [("adam", "active")]
    assert cookie["value"] not in {r["secret_hash"] for r in stored}  # hashed at rest
    # a reload and a typed URL keep the user signed in, on the page asked for
    page.reload()
    page.get_by_role("heading", name="Audit").first.wait_for(timeout=WAIT_MS)
    see(page, "Signed in as adam")
    no_page_not_found(page)
    page.goto(f"{url}/models")
    page.get_by_role("heading", name="Models").first.wait_for(timeout=WAIT_MS)
    no_page_not_found(page)
    shot(page, "7-reloaded-signed-in")
    # sign-out deletes the session server-side: the old cookie opens nothing any more
    sign_out(page)
    see(page, "You are signed out")
    assert session_cookie(tab) is None
    assert context.warehouse.scalar("SELECT COUNT(*) FROM web_sessions WHERE username = 'adam'") == 0
    thief = browser.new_context()
    thief.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path")}])
    stolen = thief.new_page()
    stolen.goto(f"{url}/models")
    stolen.get_by_label("Username", exact=True).wait_for(timeout=WAIT_MS)
    assert stolen.get_by_role("heading", name="Models").count() == 0
    shot(stolen, "7-old-cookie-signed-out")
    thief.close()
    tab.close()


def idle(page) -> None:
    """Wait until the app has finished its rerun (Streamlit drops keys pressed meanwhile)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=WAIT_MS)


def test_keyboard_review(app_server, browser):
    url, context = app_server
    tab = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = tab.new_page()
    sign_in(page, url, "rita")
    before = context.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions")
    text = f"{SAMPLE_TEXT} Reviewed with the keyboard."  # a text nobody reviewed yet
    page.get_by_label("Job or course description", exact=True).fill(text)
    page.get_by_role("button", name="Extract skills").click()
    see(page, "Skills found")
    see(page, "Keys:")
    radios = page.locator('[class*="st-key-decision_"]')
    radios.first.wait_for(timeout=WAIT_MS)
    idle(page)  # every suggestion drawn before counting them (a count mid-render is short)
    count = radios.count()
    assert f"Skills found ({count})" in page.get_by_role("heading", name="Skills found").first.inner_text()
    assert count >= 2  # the tiny model finds some skills in the sample text
    # typing in a text field never triggers a key
    search = page.get_by_label("Search the taxonomy (names and meaning)", exact=True)
    search.press_sequentially("xa")
    page.wait_for_timeout(1500)
    assert page.locator('[class*="st-key-decision_"] input:checked').count() == 0
    search.fill("")
    page.get_by_role("heading", name="Skills found").first.click()  # focus leaves the field
    idle(page)
    page.keyboard.press("a")  # accept the marked (first) skill
    radios.first.locator("input:checked").wait_for(state="attached", timeout=WAIT_MS)
    idle(page)
    page.keyboard.press("Shift+X")  # reject all the rest
    page.wait_for_function(
        f"document.querySelectorAll('[class*=\"st-key-decision_\"] input:checked').length === {count}",
        timeout=WAIT_MS,
    )
    shot(page, "8-keyboard-review")
    idle(page)
    page.keyboard.press("Control+Enter")  # submit
    page.get_by_text(re.compile(r"^Saved: ")).first.wait_for(timeout=WAIT_MS)
    shot(page, "8-keyboard-review-saved")
    assert context.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions") == before + 1
    from sea_core.pipeline import request_id_for

    decided = context.warehouse.query(
        "SELECT decision, COUNT(*) AS n FROM feedback WHERE reviewer = 'rita' AND request_id = ? "
        "GROUP BY decision",
        (request_id_for(text),),
    )
    counts = {r["decision"]: r["n"] for r in decided}
    assert counts.get("accepted") == 1 and counts.get("rejected", 0) >= count - 1
    tab.close()


def test_an_html_posting_reads_as_its_page_and_its_source_is_one_click_away(app_server, browser):
    url, _ = app_server
    tab = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = tab.new_page()
    sign_in(page, url, "rita")
    posting = "<p>Our team needs:</p><ul><li>Python programming &amp; SQL</li><li><b>Statistics</b></li></ul>"
    page.get_by_label("Job or course description", exact=True).fill(posting)
    page.get_by_role("button", name="Extract skills").click()
    see(page, "Skills found")
    see(page, "Our team needs")
    rendered = page.get_by_test_id("stMarkdownContainer").filter(has_text="Our team needs").first.inner_text()
    assert "<" not in rendered and "&amp;" not in rendered, rendered
    lines = [line.strip() for line in rendered.splitlines() if line.strip()]
    assert lines == ["Our team needs:", "Python programming & SQL", "Statistics"], lines
    page.get_by_text("The text as sent", exact=False).first.click()
    source = page.get_by_test_id("stCode").first
    source.wait_for(state="visible", timeout=WAIT_MS)
    assert posting in source.inner_text().replace("\n", "")
    shot(page, "1-review-html")
    tab.close()


def test_an_admin_who_reviews_imports_ground_truth_on_the_monitoring_page(app_server, browser, tmp_path):
    url, context = app_server
    tab = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = tab.new_page()
    sign_in(page, url, "root")
    open_page(page, "Monitoring")
    page.get_by_text("Import ground truth: labelled texts as your reviews").click()
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(f'sentence,label\n"{SAMPLE_TEXT} Imported.",SQL\nBe smart,Rust\n', encoding="utf-8")
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(labelled))
    see(page, "labelled.csv")
    page.get_by_role("button", name="Import", exact=True).click()
    see(page, "Imported 1 of 1 text of labelled.csv", timeout=60_000)
    # the refused row in the table of what was not imported (a canvas grid: its cells are attached, not "visible")
    page.get_by_text("no skill of the taxonomy is titled 'Rust'").first.wait_for(
        state="attached", timeout=WAIT_MS
    )
    shot(page, "2-monitoring-import")
    stored = context.warehouse.query(
        "SELECT reviewer FROM feedback_submissions WHERE request_id IN "
        "(SELECT request_id FROM prediction_requests WHERE original_input LIKE '%Imported.')"
    )
    assert [r["reviewer"] for r in stored] == ["root"]
    tab.close()
