"""The UAT, Models and Monitoring pages in a real headless chromium on a fresh install (the
first build in DEV, nothing in PROD; the tiny encoder is the default model), with a few recent
requests and reviews: issue 13 items 1 (UAT compares with the default model), 3 (Monitoring
titles, latency line, counts that agree) and 5 (pages redraw after a decision; no CLI flags in
errors). Full-page screenshots go to `test-output/screenshots/pages-*.png`."""

from __future__ import annotations

from datetime import timedelta

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
from tests.fixtures.app_data import SAMPLE_TEXT, create_users, register_bundle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1400, "height": 1000}


def seed_recent_use(context, users) -> None:
    """Four reviewed requests of the last days served by the default model, one request of a
    version nobody reviewed, and a failed request no model version answered."""
    from mlops.domain.clock import utc
    from mlops.services.feedback import submit_feedback
    from tests.unit.monitoring_rows import log_prediction

    now, ids = utc(), context.taxonomy.skill_ids
    texts = [SAMPLE_TEXT, "Customer service and team leadership.", "Python and SQL reporting.", "Payroll."]
    with context.warehouse.transaction() as session:
        for i, text in enumerate(texts):
            at = now - timedelta(days=i % 2, hours=1 + i)
            log_prediction(
                session,
                f"req{i}",
                ids[:2],
                model_version="0.0.0",
                at=at,
                text=text,
                taxonomy=context.taxonomy,
            )
        log_prediction(session, "unreviewed", ids[:1], model_version="0.9.0", at=now - timedelta(hours=2))
        log_prediction(session, "failed", [], model_version=None, status="error", at=now - timedelta(hours=3))
    for i in range(len(texts)):
        submit_feedback(
            context.warehouse, context.taxonomy, users["rita"], f"req{i}", ids[:1], ids[1:2], ids[2:3]
        )


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory, tiny_sentence_encoder_dir):
    """A running app on a fresh install after the first build (1.1.0 in DEV, nothing in PROD)
    and a Bootstrap on the same data folder."""
    need_browser()
    from mlops.bootstrap import Bootstrap
    from mlops.config import load_settings

    work = tmp_path_factory.mktemp("e2e-pages")
    env = app_environment(work, tiny_sentence_encoder_dir)
    context = Bootstrap(load_settings(env=env, secrets_path=work / "none.toml"))
    users = create_users(context.warehouse)
    register_bundle(context, "1.1.0", tiny_sentence_encoder_dir, stages=("dev",), work=work)
    seed_recent_use(context, users)
    with running_app(work, env) as url:
        yield url, context
    context.close()


def body_text(page) -> str:
    return page.inner_text("body")


def test_release_on_a_fresh_install_compares_with_the_default_model_and_redraws(
    fresh_install, chromium_browser
):
    url, context = fresh_install
    tab = chromium_browser.new_context(viewport=VIEWPORT)
    page = tab.new_page()

    # -- stakeholder: UAT with nothing in PROD compares with the default model (item 1) ----------
    sign_in_as(page, url, "stan")
    go_to(page, "UAT")
    wait_for_text(page, "Nothing is in PROD yet")
    page.get_by_role("button", name="Compare with the default model").click()
    wait_for_text(page, "Skills gained")
    text = body_text(page)
    assert "no model is deployed" not in text and "/serving/" not in text
    screenshot(page, "pages-1-uat-fresh-install-compared")

    # -- a decision without a comment: a user-facing message, no CLI flag (item 5) -----------------
    page.get_by_role("button", name="Sign off 1.1.0 for UAT").click()
    wait_for_text(page, "needs a comment")
    assert "--comment" not in body_text(page)
    screenshot(page, "pages-2-uat-needs-a-comment")

    # -- sign-off: the page redraws in the new state (item 5) --------------------------------------
    page.get_by_label("Comment (required)", exact=True).fill("Checked on recent texts: fine.")
    page.get_by_role("button", name="Sign off 1.1.0 for UAT").click()
    wait_for_text(page, "Signed off")
    wait_for_text(page, "UAT: 1.1.0")
    assert page.get_by_text("UAT: —").count() == 0
    assert page.get_by_role("button", name="Sign off 1.1.0 for UAT").count() == 0
    assert page.get_by_label("Comment (required)", exact=True).count() == 0
    screenshot(page, "pages-3-uat-signed-off")
    assert context.registry.stage("uat") == "1.1.0"
    tab.close()

    # -- admin: PROD approval; the confirm box and its buttons go (item 5) -------------------------
    tab = chromium_browser.new_context(viewport=VIEWPORT)
    page = tab.new_page()
    sign_in_as(page, url, "adam")
    go_to(page, "Models")
    assert "data_checksum" not in body_text(page)  # raw fields sit in a closed expander
    action = page.get_by_role("combobox", name="Action")
    action.click()
    page.keyboard.type("Approve UAT")  # the live jobs list redraws the open option list: type, Enter
    page.keyboard.press("Enter")
    page.get_by_label("Comment (required)", exact=True).fill("Stakeholders signed off.")
    page.get_by_role("button", name="Continue…").click()
    wait_for_text(page, "Confirm: ")
    assert "Approve UAT → PROD version 1.1.0" in page.get_by_text("Confirm: ").first.inner_text()
    page.get_by_role("button", name="Confirm", exact=True).click()
    wait_for_text(page, "Done: Approve UAT → PROD 1.1.0")
    wait_for_text(page, "PROD: 1.1.0")
    assert page.get_by_role("button", name="Confirm", exact=True).count() == 0
    assert page.get_by_role("button", name="Cancel", exact=True).count() == 0
    assert page.get_by_text("Confirm: ").count() == 0
    screenshot(page, "pages-4-models-approved")
    assert context.registry.stage("prod") == "1.1.0"
    tab.close()


CHARTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => ({
    title: d.layout && d.layout.title ? (d.layout.title.text || d.layout.title) : null,
    traces: (d.data || []).map(t => ({mode: t.mode || null, y: Array.from(t.y || [])})),
    ticks: Array.from(d.querySelectorAll('.xtick text')).map(e => e.textContent),
}))"""


def test_monitoring_titles_latency_line_and_counts_that_agree(fresh_install, chromium_browser):
    url, context = fresh_install
    tab = chromium_browser.new_context(viewport={"width": 1400, "height": 3200})  # the whole page
    page = tab.new_page()
    sign_in_as(page, url, "adam")
    go_to(page, "Monitoring")
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=WAIT_MS)
    wait_for_text(page, "Latency per day")
    page.wait_for_timeout(1500)  # let every chart draw its axes
    charts = {str(c["title"]).replace("<b>", "").replace("</b>", ""): c for c in page.evaluate(CHARTS_JS)}
    requests = page.get_by_test_id("stMetric").filter(has_text="Requests").get_by_test_id("stMetricValue")
    logged = context.warehouse.scalar("SELECT COUNT(*) FROM prediction_requests")
    assert requests.inner_text() == f"{logged:,}" == f"{sum(charts['Requests per day']['traces'][0]['y']):,}"
    latency = charts["Latency per day"]
    assert {t["mode"] for t in latency["traces"]} == {"lines+markers"}
    assert latency["ticks"] and not any(":" in tick for tick in latency["ticks"])  # dates, no clock times
    screenshot(page, "pages-5-monitoring")
    # the most rejected / added tables draw on a canvas: their titles are checked in
    # tests/functional/test_app_pages.py; here the screenshot shows them
    tab.close()
