"""Every page of the Streamlit app under `AppTest`, with each role and without one.

The app runs in-process on a temporary SQLite warehouse and local store, the small taxonomy in
`tests/fixtures/app_data.py` and a fake inference client (so no model is loaded), except where
a test registers tiny model bundles."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mlops.bootstrap import ServiceUnavailable
from mlops.entrypoints.ui import context as ui_context
from mlops.services import jobs
from mlops.services.identity import PermissionDenied, User
from tests.fixtures.app_data import (
    PASSWORD,
    SAMPLE_TEXT,
    create_users,
    fill_predictions,
    make_context,
    register_bundle,
    write_small_taxonomy,
)

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")  # the script `app.py` serves
ADMIN_PAGES = ("models", "taxonomy", "audit")
TIMEOUT = 60


@pytest.fixture()
def ctx(tmp_path, monkeypatch):
    context = make_context(tmp_path / "home", write_small_taxonomy(tmp_path / "skills.csv"))
    monkeypatch.setattr(ui_context, "OVERRIDE", context)
    yield context
    context.close()


@pytest.fixture()
def users(ctx):
    return create_users(ctx.warehouse)


def app_as(user: User | None, page: str | None = None) -> AppTest:
    """The app run once with `user` signed in (and switched to `page` when given)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if user is not None:
        at.session_state["sea_user"] = user
        at.session_state["sea_signed_in_at"] = time.time()
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


# -- sign-in, navigation and roles -------------------------------------------------------------
def test_without_a_user_only_the_sign_in_page_exists(ctx):
    at = app_as(None)
    assert titles(at) == ["Sign in"]
    registered = list(at._registered_pages.values())
    assert {Path(i["script_path"]).stem for i in registered} == {"sign_in"}
    # every page's address opens the sign-in page (a bookmark or reload: no "page not found")
    assert sorted(i["url_pathname"] for i in registered) == sorted(
        ["", "review", "quality", "monitoring", "models", "uat", "taxonomy", "audit", "sign-out"]
    )


def test_sign_in_with_a_local_account(ctx, users):
    at = app_as(None)
    at.text_input(key="sign_in_username").input("rita")
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    assert titles(at) == ["Review"]
    assert at.session_state["sea_user"] == users["rita"]


def test_wrong_password_shows_a_message_and_locks_after_repeats(ctx, users):
    at = app_as(None)
    for _attempt in range(3):
        at.text_input(key="sign_in_username").input("rita")
        at.text_input(key="sign_in_password").input("not-the-password")
        at.button[0].click().run()
        assert not at.exception
    errors = texts(at.error)
    assert titles(at) == ["Sign in"] and any("too many failed sign-ins" in e for e in errors)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    assert titles(at) == ["Sign in"] and any("too many failed sign-ins" in e for e in texts(at.error))


def test_sessions_expire(ctx, users):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["sea_user"] = users["rita"]
    at.session_state["sea_signed_in_at"] = time.time() - ctx.settings.session_ttl_minutes * 60 - 1
    at.run()
    assert titles(at) == ["Sign in"]
    assert any("session expired" in i for i in texts(at.info))


def test_sign_out(ctx, users):
    at = app_as(users["rita"], "sign_out")
    at.button[0].click().run()
    assert titles(at) == ["Sign in"] and "sea_user" not in at.session_state


@pytest.mark.parametrize(
    "name,allowed",
    [
        ("rita", {"review", "quality"}),
        ("stan", {"quality", "monitoring", "uat"}),
        ("adam", {"quality", "monitoring", "models", "taxonomy", "audit"}),
        ("root", {"review", "quality", "monitoring", "models", "uat", "taxonomy", "audit"}),
    ],
)
def test_each_role_sees_only_its_pages(ctx, users, name, allowed):
    from mlops.entrypoints.ui.session import APP_PAGES, allowed_pages, navigation_pages

    at = app_as(users[name])
    menu = {Path(spec.file).stem for spec in allowed_pages(users[name])}  # the visible pages
    assert menu == allowed
    visible = [p.visibility for p in navigation_pages(users[name])].count("visible")
    assert visible == len(allowed) + 1  # and sign-out; the others are hidden
    reachable = {Path(info["script_path"]).stem for info in at._registered_pages.values()}
    assert reachable == {Path(spec.file).stem for spec in APP_PAGES} | {"sign_out"}
    for page in ("review", "quality", "monitoring", "models", "uat", "taxonomy", "audit"):
        fresh = app_as(users[name])
        fresh.switch_page(f"pages/{page}.py").run()
        if page in allowed:
            assert titles(fresh)[0].lower() == page and not fresh.error, (page, texts(fresh.error))
        else:  # its address is known (no "page not found") but the page refuses the user
            assert any("cannot open this page" in e for e in texts(fresh.error)), page
            assert page not in [t.lower() for t in titles(fresh)] and not fresh.dataframe


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_refuse_a_reviewer_even_when_opened_directly(ctx, users, page):
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=TIMEOUT)
    at.session_state["sea_user"] = users["rita"]
    at.session_state["sea_signed_in_at"] = time.time()
    at.run()
    assert any("cannot open this page" in e for e in texts(at.error))
    assert not at.dataframe and not at.button


@pytest.mark.parametrize("page", ["review", "quality", "monitoring", "models", "uat", "taxonomy", "audit"])
def test_pages_opened_directly_without_a_user_ask_to_sign_in(ctx, page):
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=TIMEOUT).run()
    assert texts(at.error) == ["Please sign in first."]


def test_services_refuse_without_the_role(ctx, users):
    from mlops.services import feedback, release

    with pytest.raises(PermissionDenied):
        jobs.enqueue(ctx.warehouse, "build", {}, user=users["rita"])
    with pytest.raises(PermissionDenied):
        feedback.submit_feedback(ctx.warehouse, ctx.taxonomy, users["stan"], "r1", [], [], [])
    with pytest.raises(PermissionDenied):
        release.approve_prod(
            ctx.registry, ctx.warehouse, ctx.deploy_target, "1.0.0", user=users["rita"], comment="no"
        )


# -- Review ------------------------------------------------------------------------------------
def extract(at: AppTest, text: str) -> AppTest:
    at.text_area(key="review_text").input(text)
    return at.button(key="review_extract").click().run()


def test_review_extract_decide_add_and_submit(ctx, users):
    at = extract(app_as(users["rita"]), SAMPLE_TEXT)
    assert not at.exception
    highlighted = at.markdown[0].value if at.markdown else ""
    assert ":orange-background[Python programming]" in "".join(texts(at.markdown))
    decisions = [r for r in at.radio if r.key and r.key.startswith("decision_")]
    assert len(decisions) == 5
    decisions[0].set_value("accept")
    decisions[1].set_value("reject")
    at.run()
    # choices survive an unrelated rerun
    at.text_input(key="review_search").input("proj").run()
    kept = [r.value for r in at.radio if r.key and r.key.startswith("decision_")]
    assert kept[:2] == ["accept", "reject"] and kept[2:] == [None, None, None]
    at.button(key="review_add").click().run()
    assert any("Project management" in t for t in texts(at.text))
    at.button(key="review_submit").click().run()
    assert not at.exception and any(s.startswith("Saved:") for s in texts(at.success))
    rows = ctx.warehouse.query("SELECT skill_id, decision, reviewer FROM feedback ORDER BY decision")
    by_decision = {}
    for row in rows:
        by_decision.setdefault(row["decision"], []).append(ctx.taxonomy.get(row["skill_id"]).title)
        assert row["reviewer"] == "rita"
    assert by_decision == {
        "accepted": ["Python programming"],
        "added": ["Project management"],
        "rejected": ["Data analysis"],
    }
    assert highlighted  # the text was shown


def test_review_user_text_is_never_rendered_as_html_or_links(ctx, users):
    hostile = "<script>alert(1)</script> [click](javascript:alert(1)) uses SQL **bold**"
    at = extract(app_as(users["rita"]), hostile)
    shown = "".join(texts(at.markdown))
    assert "<script>" not in shown and "](javascript" not in shown and "**bold**" not in shown
    assert "alert(1)</script>" not in shown  # rendered as a page renders it: the script goes
    assert "\\[click\\]\\(javascript" in shown and ":orange-background[SQL]" in shown
    assert [c.value for c in at.code] == [hostile]  # the text as sent, as code


def test_review_shows_an_html_posting_rendered_and_its_source_on_request(ctx, users):
    posting = "<p>We need:</p><ul><li>Python programming &amp; SQL</li><li><b>Statistics</b></li></ul>"
    at = extract(app_as(users["rita"]), posting)
    assert not at.exception
    shown = at.markdown[0].value if at.markdown else ""
    assert shown == (
        "We need\\:  \n:orange-background[Python programming] \\& :orange-background[SQL]  \n"
        ":orange-background[Statistics]"
    )
    assert [c.value for c in at.code] == [posting]
    assert [e.label for e in at.expander] == ["The text as sent (it holds markup, shown above as rendered)"]


def test_review_of_a_plain_text_has_no_source_view(ctx, users):
    at = extract(app_as(users["rita"]), SAMPLE_TEXT)
    assert not at.code and not at.expander


@pytest.mark.parametrize("text,message", [("", "is empty"), ("   \n ", "is empty")])
def test_review_empty_input_is_a_message(ctx, users, text, message):
    at = extract(app_as(users["rita"]), text)
    assert any(message in e for e in texts(at.error)) and not at.exception


def test_review_over_long_input_boundary(ctx, users):
    limit = ctx.settings.max_text_chars
    at = extract(app_as(users["rita"]), "x" * (limit + 1))
    assert any("the limit is" in e for e in texts(at.error))
    at = extract(app_as(users["rita"]), "SQL " + "x" * (limit - 4))
    assert not at.error and ctx.inference().calls == 1


def test_review_model_not_available_is_a_warning(ctx, users, monkeypatch):
    def unavailable(stage="prod", log=True):
        raise ServiceUnavailable("the prod model could not be loaded: no bundle")

    monkeypatch.setattr(ctx, "inference", unavailable)
    at = extract(app_as(users["rita"]), SAMPLE_TEXT)
    assert any("not available yet" in w for w in texts(at.warning)) and not at.exception


def test_review_failed_save_is_a_message(ctx, users, monkeypatch):
    from mlops.services import feedback

    at = extract(app_as(users["rita"]), SAMPLE_TEXT)
    at.radio(key=[r.key for r in at.radio if r.key and r.key.startswith("decision_")][0]).set_value(
        "accept"
    ).run()

    def broken(*args, **kwargs):
        raise feedback.FeedbackError("the warehouse is unreachable; nothing was saved")

    monkeypatch.setattr(feedback, "submit_feedback", broken)
    at.button(key="review_submit").click().run()
    assert any("Not saved" in e for e in texts(at.error)) and not at.exception
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM feedback") == 0
    kept = at.session_state["review_item"]  # the choices are kept for a retry
    assert kept.accepted == [kept.skills[0]["skill_id"]] and kept.rejected == []


def test_review_takes_the_next_text_from_the_queue(ctx, users):
    ctx.inference().predict(["Team leadership and customer service."])
    ctx.inference().predict(["Accounting principles for the finance team."])
    at = app_as(users["rita"])
    at.radio(key="review_source").set_value("Next from the queue").run()
    at.button(key="review_next").click().run()
    assert ":orange-background[Team leadership]" in "".join(texts(at.markdown))
    for radio in at.radio:
        if radio.key and radio.key.startswith("decision_"):
            radio.set_value("accept")
    at.run()
    at.button(key="review_submit").click().run()
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions") == 1
    # confirmation, and the next text is there at once
    assert any(s.startswith("Saved: 2 confirmed") for s in texts(at.success))
    assert ":orange-background[Accounting principles]" in "".join(texts(at.markdown))
    at.radio(key=[r.key for r in at.radio if r.key and r.key.startswith("decision_")][0]).set_value(
        "reject"
    ).run()
    at.button(key="review_submit").click().run()
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions") == 2
    at.button(key="review_next").click().run()
    assert any("queue is empty" in i for i in texts(at.info))


# -- Monitoring --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["adam", "stan"])
def test_monitoring_shows_charts_tables_and_alerts(ctx, users, name):
    from datetime import date

    fill_predictions(ctx.warehouse, ctx.taxonomy, 300, 120, days=20)
    at = app_as(users[name], "monitoring")
    at.date_input(key="mon_period").set_value((date(2026, 10, 1), date(2026, 11, 2))).run()
    assert not at.exception and not at.error
    charts = at.get("plotly_chart")
    assert len(charts) >= 3  # quality, requests, latency (+ input lengths)
    assert len(at.dataframe) >= 3  # versions, most rejected, most added
    assert any("No open alerts" in s for s in texts(at.success))
    # version filter: one version only
    at.multiselect(key="mon_versions").set_value(["1.0.0"]).run()
    assert not at.exception
    versions = at.dataframe[0].value["model_version"].tolist()
    assert versions == ["1.0.0"]


def test_monitoring_imports_labelled_texts_as_the_admin_reviewers_reviews(ctx, users):
    at = app_as(users["root"], "monitoring")
    labels = ["Import ground truth: labelled texts as your reviews"]
    assert [e.label for e in at.expander if e.label.startswith("Import")] == labels
    content = b"sentence,label\nWe need SQL daily,SQL\nWe need SQL daily,Statistics\nBe smart,Rust\n"
    at.file_uploader(key="mon_gt_file").set_value(("bench.csv", content, "text/csv")).run()
    at.button(key="mon_gt_import").click().run()
    assert not at.exception and not at.error, texts(at.error)
    (done,) = [s for s in texts(at.success) if s.startswith("Imported")]
    assert done.startswith("Imported 1 of 1 text of bench.csv as your reviews of the dev model")
    assert "2 skills confirmed, 1 of them predicted" in done and "1 row or text refused" in done
    tables = [d.value for d in at.dataframe if "reason" in d.value.columns]
    assert [t["reason"].tolist() for t in tables] == [["no skill of the taxonomy is titled 'Rust'"]]
    rows = ctx.warehouse.query("SELECT reviewer, n_confirmed, n_overlap FROM feedback_submissions")
    assert [(r["reviewer"], r["n_confirmed"], r["n_overlap"]) for r in rows] == [("root", 2, 1)]


def test_monitoring_finishes_a_cut_short_import_without_serving_the_done_texts_again(ctx, users):
    content = b"sentence,label\nWe need SQL daily,SQL\n"
    at = app_as(users["root"], "monitoring")
    at.file_uploader(key="mon_gt_file").set_value(("part.csv", content, "text/csv")).run()
    at.button(key="mon_gt_import").click().run()  # the part that was done before the cut
    whole = content + b"Python and statistics,Statistics\n"
    at = app_as(users["root"], "monitoring")
    at.file_uploader(key="mon_gt_file").set_value(("whole.csv", whole, "text/csv")).run()
    at.checkbox(key="mon_gt_resume").check().run()
    at.button(key="mon_gt_import").click().run()
    assert not at.exception and not at.error, texts(at.error)
    (done,) = [s for s in texts(at.success) if s.startswith("Imported")]
    assert done.startswith("Imported 1 of 2 texts of whole.csv") and "1 skipped as reviewed already" in done
    assert "0 replaced an earlier review" in done  # the done text was not served and reviewed again
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions WHERE reviewer = 'root'") == 2


@pytest.mark.parametrize("name", ["adam", "stan"])
def test_monitoring_offers_the_import_only_to_an_admin_who_reviews(ctx, users, name):
    at = app_as(users[name], "monitoring")
    assert not at.exception and not [e for e in at.expander if e.label.startswith("Import")]


def test_monitoring_shows_reviewer_counts_that_agree_with_the_warehouse(ctx, users):
    from datetime import date

    fill_predictions(ctx.warehouse, ctx.taxonomy, 300, 120, days=20)
    at = app_as(users["adam"], "monitoring")
    at.date_input(key="mon_period").set_value((date(2026, 10, 1), date(2026, 11, 2))).run()
    assert not at.exception and not at.error
    in_period = ctx.warehouse.scalar(
        "SELECT COUNT(*) FROM feedback_submissions WHERE day >= ? AND day <= ?", ("2026-10-01", "2026-11-02")
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reviews in the period"] == f"{in_period:,}" and in_period > 0
    assert metrics["Agreement"] == "—"  # one reviewer: no pair of reviews of the same text
    table = at.dataframe[-1].value
    assert table["reviewer"].tolist() == ["rita"] and table["reviews"].tolist() == [in_period]
    # fill_predictions stamps each review with its prediction's serving time
    assert table["median time per review"].tolist() == ["0 s"]


def _chart(at: AppTest, title: str) -> dict:
    """The plotly figure (as a dict) of the chart titled `title`."""
    import json

    for element in at.get("plotly_chart"):
        figure = json.loads(element.proto.spec)
        if figure["layout"].get("title", {}).get("text") == title:
            return figure
    raise AssertionError(f"no chart titled {title!r}")


def test_monitoring_requests_count_agrees_with_the_bars(ctx, users):
    from datetime import date, datetime

    from tests.unit.monitoring_rows import log_prediction

    fill_predictions(ctx.warehouse, ctx.taxonomy, 40, 10, days=5)
    # requests no review covers: a version nobody reviewed and a failure no version answered
    with ctx.warehouse.transaction() as session:
        log_prediction(session, "unreviewed", [], model_version="0.0.0", at=datetime(2026, 10, 30))
        log_prediction(session, "failed", [], model_version=None, status="error", at=datetime(2026, 10, 30))
    at = app_as(users["adam"], "monitoring")
    at.date_input(key="mon_period").set_value((date(2026, 10, 1), date(2026, 11, 2))).run()
    assert not at.exception and not at.error, texts(at.error)
    logged = ctx.warehouse.scalar("SELECT COUNT(*) FROM prediction_requests")
    metrics = {m.label: m.value for m in at.metric}
    bars = _chart(at, "Requests per day")["data"][0]
    assert metrics["Requests"] == f"{logged:,}" == f"{sum(bars['y']):,}"
    # one version chosen: the count and the bars are that version's
    at.multiselect(key="mon_versions").set_value(["0.0.0"]).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Requests"] == "1" and _chart(at, "Requests per day")["data"][0]["y"] == [1]


def test_monitoring_latency_has_a_visible_line_and_date_ticks(ctx, users):
    from datetime import date, datetime

    from tests.unit.monitoring_rows import log_prediction

    with ctx.warehouse.transaction() as session:
        log_prediction(session, "one", [], at=datetime(2026, 10, 30, 10), latency_ms=40.0)
        log_prediction(session, "two", [], at=datetime(2026, 10, 30, 11), latency_ms=60.0)
    at = app_as(users["adam"], "monitoring")
    at.date_input(key="mon_period").set_value((date(2026, 10, 1), date(2026, 11, 2))).run()
    latency = _chart(at, "Latency per day")
    assert {trace["mode"] for trace in latency["data"]} == {"lines+markers"}  # one day is a visible point
    assert latency["data"][0]["y"] == [50.0]
    axis = latency["layout"]["xaxis"]
    assert axis["type"] == "date" and axis["dtick"] == 86_400_000
    assert axis["range"] == ["2026-10-29 12:00", "2026-10-30 12:00"]


def test_monitoring_most_corrected_shows_titles(ctx, users):
    from datetime import date

    fill_predictions(ctx.warehouse, ctx.taxonomy, 60, 30, days=5)
    at = app_as(users["adam"], "monitoring")
    at.date_input(key="mon_period").set_value((date(2026, 10, 1), date(2026, 11, 2))).run()
    titles = {skill.title for skill in ctx.taxonomy}
    for frame in (at.dataframe[1].value, at.dataframe[2].value):
        assert frame.columns[0] == "Skill" and "skill_id" not in frame.columns
        assert len(frame) and set(frame["Skill"]) <= titles


def test_monitoring_on_an_empty_warehouse(ctx, users):
    at = app_as(users["adam"], "monitoring")
    assert any("No reviews in this period" in i for i in texts(at.info)) and not at.exception


# -- Quality (reviewers, read-only) -------------------------------------------------------------
def test_quality_shows_a_reviewer_their_agreement_read_only(ctx, users, tiny_sentence_encoder_dir, tmp_path):
    from datetime import date

    from mlops.services.feedback import submit_feedback
    from tests.unit.monitoring_rows import log_prediction

    register_bundle(ctx, "1.0.0", tiny_sentence_encoder_dir, stages=("dev", "uat", "prod"), work=tmp_path)
    fill_predictions(ctx.warehouse, ctx.taxonomy, 40, 20, days=5, versions=("1.0.0",))
    ids = ctx.taxonomy.skill_ids
    with ctx.warehouse.transaction() as session:
        log_prediction(session, "shared", ids[:2])
    other = users["root"]  # a second reviewer of the same text: agrees on one of two skills
    submit_feedback(ctx.warehouse, ctx.taxonomy, users["rita"], "shared", ids[:2], [], [])
    submit_feedback(ctx.warehouse, ctx.taxonomy, other, "shared", ids[:1], ids[1:2], [])
    at = app_as(users["rita"], "quality")
    at.date_input(key="quality_period").set_value((date(2026, 10, 1), date.today())).run()
    assert not at.exception and not at.error, texts(at.error)
    metrics = {m.label: m.value for m in at.metric}
    reviews = ctx.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions WHERE reviewer = 'rita'")
    assert metrics["Your reviews"] == f"{reviews:,}" and metrics["Texts shared with others"] == "1"
    assert metrics["Your agreement"] == "0.50" == metrics["Everyone's agreement"]
    versions = at.dataframe[0].value
    assert versions["Version"].tolist() == ["1.0.0"] and versions["Stages"].tolist() == ["DEV, UAT, PROD"]
    assert versions["Reviews"].tolist()[0] > 0 and 0 <= versions["Jaccard"].tolist()[0] <= 1
    assert len(at.get("plotly_chart")) == 1
    assert not at.button and not at.text_area and not at.get("form")  # read-only: no actions


def test_quality_on_an_empty_warehouse(ctx, users):
    at = app_as(users["rita"], "quality")
    assert any("No reviews in this period" in i for i in texts(at.info)) and not at.exception
    assert {m.label: m.value for m in at.metric}["Your agreement"] == "—"


# -- Models ------------------------------------------------------------------------------------
def test_models_queue_builds_and_show_their_progress(ctx, users):
    at = app_as(users["adam"], "models")
    assert any("No version is registered yet" in i for i in texts(at.info))
    at.button(key="models_build_build").click().run()
    queued = jobs.list_jobs(ctx.warehouse)
    assert [(j.kind, j.status, j.params["trigger"]) for j in queued] == [("build", "queued", "manual")]
    assert any(s.startswith("Queued build job") for s in texts(at.success))
    jobs.claim_next(ctx.warehouse, "w1")
    jobs.report_progress(ctx.warehouse, queued[0].job_id, 0.4, "training epoch 2/5")
    at.run()
    assert any("training epoch 2/5" in p.text for p in at.get("progress"))
    # queueing the same build again while it is queued is merged, not duplicated
    at.button(key="models_build_skills-update").click().run()
    at.button(key="models_build_skills-update").click().run()
    assert len([j for j in jobs.list_jobs(ctx.warehouse) if j.kind == "skills-update"]) == 1


def test_models_release_needs_a_comment_and_a_confirmation(ctx, users, tiny_sentence_encoder_dir, tmp_path):
    register_bundle(ctx, "1.0.0", tiny_sentence_encoder_dir, stages=("dev", "uat"), work=tmp_path)
    at = app_as(users["adam"], "models")
    assert at.dataframe[0].value["Version"].tolist() == ["1.0.0"]
    at.selectbox(key="models_action").set_value("Reject the UAT candidate")
    at.selectbox(key="models_action_version").set_value("1.0.0")
    at.button[-1].click().run()  # the form's Continue without a comment
    assert any("Give a comment" in e for e in texts(at.error))
    at.text_area(key="models_action_comment").input("fails on finance texts")
    at.button[-1].click().run()
    assert any("Confirm: **Reject the UAT candidate**" in w for w in texts(at.warning))
    assert ctx.registry.get("1.0.0")["status"] == "registered"  # nothing happened yet
    at.button(key="models_confirm").click().run()
    assert not at.exception and any("Done" in s for s in texts(at.success))
    assert ctx.registry.get("1.0.0")["status"] == "rejected"


def test_models_release_redraws_without_the_confirm_box(ctx, users, tiny_sentence_encoder_dir, tmp_path):
    register_bundle(ctx, "1.0.0", tiny_sentence_encoder_dir, stages=("dev", "uat"), work=tmp_path)
    at = app_as(users["adam"], "models")
    at.selectbox(key="models_action").set_value("Approve UAT → PROD")
    at.selectbox(key="models_action_version").set_value("1.0.0")
    at.text_area(key="models_action_comment").input("passed UAT")
    at.button[-1].click().run()
    assert [b.key for b in at.button if b.key == "models_confirm"] == ["models_confirm"]
    at.button(key="models_confirm").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert any(s.startswith("Done: Approve UAT → PROD 1.0.0") for s in texts(at.success))
    assert not any("Confirm:" in w for w in texts(at.warning))
    assert not [b for b in at.button if b.key in ("models_confirm", "models_cancel")]
    assert ctx.registry.stage("prod") == "1.0.0"
    assert any("PROD: 1.0.0" in c for c in texts(at.caption))


def test_models_rollback_to_a_never_approved_version_says_it_is_only_requested(
    ctx, users, tiny_sentence_encoder_dir, tmp_path
):
    register_bundle(ctx, "1.0.0", tiny_sentence_encoder_dir, work=tmp_path)  # never approved
    register_bundle(ctx, "1.1.0", tiny_sentence_encoder_dir, stages=("dev", "uat", "prod"), work=tmp_path)
    at = app_as(users["adam"], "models")
    at.selectbox(key="models_action").set_value("Roll back PROD to")
    at.selectbox(key="models_action_version").set_value("1.0.0")
    at.text_area(key="models_action_comment").input("1.1.0 misses finance skills")
    at.button[-1].click().run()
    at.button(key="models_confirm").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert any("rollback requested by adam" in s for s in texts(at.success))
    assert not any(s.startswith("Done:") for s in texts(at.success))
    assert ctx.registry.stage("prod") == "1.1.0"  # nothing deployed until a second admin agrees


def test_models_table_is_labelled_and_raw_fields_are_one_click_away(
    ctx, users, tiny_sentence_encoder_dir, tmp_path
):
    register_bundle(ctx, "1.0.0", tiny_sentence_encoder_dir, stages=("dev",), work=tmp_path)
    at = app_as(users["adam"], "models")
    shown = at.dataframe[0].value
    assert shown.columns.tolist()[:3] == ["Version", "Stages", "Status"]
    assert "data_checksum" not in shown.columns and "hyperparameters" not in shown.columns
    raw = at.expander[0]
    assert "All registry fields" in raw.label
    assert raw.dataframe[0].value["data_checksum"].tolist() == ["abc"]


# -- UAT ---------------------------------------------------------------------------------------
def test_uat_compares_candidate_with_prod_and_signs_off(ctx, users, tiny_sentence_encoder_dir, tmp_path):
    register_bundle(ctx, "1.0.0", tiny_sentence_encoder_dir, stages=("dev", "uat", "prod"), work=tmp_path)
    register_bundle(ctx, "1.1.0", tiny_sentence_encoder_dir, stages=("dev",), work=tmp_path)
    ctx.inference().predict([SAMPLE_TEXT, "Customer service and team leadership."])
    at = app_as(users["stan"], "uat")
    assert any("Candidate (DEV): 1.1.0" in c for c in texts(at.caption))
    at.button(key="uat_compare").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert [m.label for m in at.metric] == ["Texts", "Skills gained", "Skills lost", "Re-ranked"]
    assert at.metric[0].value == "2"
    at.button[-2].click().run()  # sign off without a comment
    assert any("comment" in e.lower() for e in texts(at.error))
    at.text_area(key="uat_comment").input("looks good on finance texts")
    at.button[-2].click().run()
    assert any("Signed off" in s for s in texts(at.success)), texts(at.error)
    assert ctx.registry.stage("uat") == "1.1.0"


def test_uat_shows_a_logged_text_as_text_never_as_markdown_or_html(
    ctx, users, tiny_sentence_encoder_dir, tmp_path
):
    register_bundle(ctx, "1.0.0", tiny_sentence_encoder_dir, stages=("dev", "uat", "prod"), work=tmp_path)
    register_bundle(ctx, "1.1.0", tiny_sentence_encoder_dir, stages=("dev",), work=tmp_path)
    ctx.inference().predict(["<p>**Python programming** and [SQL](http://e.com) &amp; more</p>"])
    at = app_as(users["stan"], "uat")
    at.button(key="uat_compare").click().run()
    assert not at.exception and not at.error, texts(at.error)
    (label,) = [e.label for e in at.expander if e.label.startswith("1. ")]
    assert label.startswith("1. \\*\\*Python programming\\*\\* and \\[SQL\\]\\(http\\:")
    assert "<p>" not in label and "&amp;" not in label
    assert "\\*\\*Python programming\\*\\* and \\[SQL\\]" in "".join(texts(at.markdown))


def test_uat_reject_and_nothing_waiting(ctx, users, tiny_sentence_encoder_dir, tmp_path):
    at = app_as(users["stan"], "uat")
    assert any("No candidate waits" in s for s in texts(at.success))
    register_bundle(ctx, "1.1.0", tiny_sentence_encoder_dir, stages=("dev",), work=tmp_path)
    at = app_as(users["stan"], "uat")
    at.text_area(key="uat_comment").input("misses obvious skills")
    at.button[-1].click().run()
    assert any("Rejected 1.1.0" in s for s in texts(at.success))
    assert ctx.registry.get("1.1.0")["status"] == "rejected"


def test_uat_without_prod_compares_with_the_default_model(
    ctx, users, tiny_sentence_encoder_dir, tmp_path, monkeypatch
):
    from mlops.bootstrap import Bootstrap

    fresh = Bootstrap(  # a fresh install: the default model is the base encoder
        ctx.settings,
        overrides={"base_encoder": str(tiny_sentence_encoder_dir)},
        warehouse=ctx.warehouse,
        store=ctx.store,
        inference=ctx.inference(),
    )
    monkeypatch.setattr(ui_context, "OVERRIDE", fresh)
    register_bundle(fresh, "1.1.0", tiny_sentence_encoder_dir, stages=("dev",), work=tmp_path)
    fresh.inference().predict([SAMPLE_TEXT, "Customer service and team leadership."])
    at = app_as(users["stan"], "uat")
    assert any("Nothing is in PROD yet" in i and "default model" in i for i in texts(at.info))
    assert at.button(key="uat_compare").label == "Compare with the default model"
    at.button(key="uat_compare").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert at.metric[0].value == "2"
    # signing off redraws the page in its new state: no stale stages, no form
    at.text_area(key="uat_comment").input("fine on finance texts")
    at.button[-2].click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert any("Signed off" in s for s in texts(at.success))
    assert any("UAT: 1.1.0" in c for c in texts(at.caption))
    assert not any("UAT: —" in c for c in texts(at.caption))
    assert not [t for t in at.text_area if t.key == "uat_comment"]


def test_uat_shows_metric_labels_and_user_facing_errors(ctx, users, tiny_sentence_encoder_dir, tmp_path):
    register_bundle(ctx, "1.1.0", tiny_sentence_encoder_dir, stages=("dev",), work=tmp_path)
    at = app_as(users["stan"], "uat")
    table = at.dataframe[0].value
    assert table["Metric"].tolist() == ["Pair F1"] and table["Value"].tolist() == [0.8]
    assert "cosine_f1" not in " ".join(map(str, table.to_numpy().ravel()))
    at.button[-2].click().run()  # sign off without a comment
    errors = texts(at.error)
    assert any("needs a comment" in e for e in errors) and not any("--" in e for e in errors), errors


# -- Taxonomy ----------------------------------------------------------------------------------
def test_taxonomy_upload_preview_confirm_and_job(ctx, users):
    at = app_as(users["adam"], "taxonomy")
    content = b"title,type,alt_labels\nPython programming,skill,py\nSQL,skill,\nCloud computing,skill,aws\n"
    at.file_uploader(key="taxonomy_upload").set_value(("skills_v3.0.0.csv", content, "text/csv")).run()
    at.button(key="taxonomy_preview_button").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert [m.value for m in at.metric] == ["3", "3", "0", "0"]
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM taxonomy_versions") == 0  # preview writes nothing
    at.button(key="taxonomy_import_button").click().run()
    assert any("Imported taxonomy version 3.0.0" in s for s in texts(at.success))
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM taxonomy_skills") == 3
    assert [j.kind for j in jobs.list_jobs(ctx.warehouse)] == ["skills-update"]


def test_taxonomy_bad_upload_is_a_message(ctx, users):
    at = app_as(users["adam"], "taxonomy")
    at.file_uploader(key="taxonomy_upload").set_value(("broken.csv", b"name,kind\nx,y\n", "text/csv")).run()
    at.button(key="taxonomy_preview_button").click().run()
    assert any("missing column 'title'" in e for e in texts(at.error)) and not at.exception


def test_taxonomy_search_ranks_names_and_shows_the_matched_label(ctx, users):
    at = app_as(users["adam"], "taxonomy")
    at.text_input(key="taxonomy_search").input("query language").run()
    assert not at.exception
    frame = at.table[-1].value
    assert list(frame.index)[0] == "SQL"
    assert list(frame["matched"])[0] == "structured query language"
    at.text_input(key="taxonomy_search").input("zzz").run()
    assert "No skill matches that search." in texts(at.caption)


# -- Audit -------------------------------------------------------------------------------------
def test_audit_lists_and_filters_events(ctx, users):
    jobs.enqueue(ctx.warehouse, "build", {"trigger": "manual"}, user=users["adam"])
    at = app_as(users["adam"], "audit")
    frame = at.dataframe[0].value
    assert {"user.create", "job.enqueue"} <= set(frame["action"])
    at.text_input(key="audit_actor").input("adam").run()
    assert set(at.dataframe[0].value["actor"]) == {"adam"}
    at.text_input(key="audit_action").input("no.such.action").run()
    assert any("No events match" in i for i in texts(at.info))


def test_a_bad_setting_is_a_message(monkeypatch):
    monkeypatch.setattr(ui_context, "OVERRIDE", None)
    monkeypatch.setenv("SEA_SESSION_TTL_MINUTES", "soon")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["sea_user"] = User("rita", frozenset({"reviewer"}))
    at.session_state["sea_signed_in_at"] = time.time()
    at.run()
    assert not at.exception
    assert any("session_ttl_minutes: must be a whole number" in e for e in texts(at.error))
