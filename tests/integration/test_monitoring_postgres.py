"""Feedback, monitoring SQL and alerts over the wire (PostgreSQL behind pgbouncer, driven by
redshift_connector as in production): the same answers as SQLite, and no duplicates under
concurrency."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops.adapters.warehouse import open_warehouse
from mlops.domain.clock import day_of, timestamp, week_of
from mlops.services import alerts, monitoring
from mlops.services.feedback import FeedbackError, submit_feedback
from mlops.services.training_data import build_training_pairs, load_training_pairs
from tests.integration.concurrency import run_at_once
from tests.unit.monitoring_rows import REVIEWER, T0, FakeSettings, log_prediction, reviews, small_taxonomy

TAX = small_taxonomy(20)
NOW = T0 + timedelta(days=3)


@pytest.fixture
def pg(fresh_redshift_url):
    """A fresh PostgreSQL warehouse (the shared `wh` is the SQLite one to compare with)."""
    warehouse = open_warehouse(fresh_redshift_url)
    warehouse.init_schema()
    yield warehouse
    warehouse.close()


def populate(wh) -> None:
    """Predictions over 3 days, 2 versions, 2 stages, with errors, and varied feedback."""
    for i in range(40):
        at = T0 + timedelta(days=i % 3, minutes=i)
        predicted = [f"s{i % 7}", f"s{(i + 3) % 7}", f"s{(i + 5) % 7}"][: i % 4]
        version = "1.0.0" if i % 2 else "1.1.0"
        status = "error" if i % 9 == 0 else "ok"
        log_prediction(
            wh,
            f"r{i}",
            predicted if status == "ok" else [],
            model_version=version,
            stage="prod" if i % 5 else "uat",
            at=at,
            latency_ms=float((i * 37) % 97) + 0.5,
            status=status,
            text="x" * (i * 13),
            taxonomy=TAX,
        )
        if status == "ok" and i % 3:
            accepted, rejected = predicted[: i % 2 + 1][: len(predicted)], predicted[i % 2 + 1 :]
            added = [f"s{10 + i % 5}"] if i % 4 != 1 else []
            submit_feedback(wh, TAX, REVIEWER, f"r{i}", accepted, rejected, added, now=at)


def approx_rows(rows):
    return [{k: pytest.approx(v) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


def test_dashboard_queries_give_the_same_answers_as_sqlite(pg, wh):
    populate(pg)
    populate(wh)
    assert len(monitoring.quality_over_time(pg, "day")) >= 4
    for granularity in ("day", "week"):
        assert monitoring.quality_over_time(pg, granularity) == approx_rows(
            monitoring.quality_over_time(wh, granularity)
        )
    assert monitoring.quality_over_time(pg, start="2026-11-03", model_version="1.0.0") == approx_rows(
        monitoring.quality_over_time(wh, start="2026-11-03", model_version="1.0.0")
    )
    assert monitoring.version_comparison(pg) == approx_rows(monitoring.version_comparison(wh))
    usage_pg, usage_lite = monitoring.usage(pg, T0, NOW), monitoring.usage(wh, T0, NOW)
    assert usage_pg["daily"] == approx_rows(usage_lite["daily"])
    assert usage_pg["input_lengths"] == usage_lite["input_lengths"]
    assert usage_pg["total"] == approx_rows([usage_lite["total"]])[0]
    assert usage_pg["total"]["n_errors"] == 5
    assert monitoring.usage(pg, T0, NOW, stage="uat")["daily"] == approx_rows(
        monitoring.usage(wh, T0, NOW, stage="uat")["daily"]
    )
    for query in (monitoring.most_rejected_skills, monitoring.most_added_skills):
        assert query(pg, limit=5, taxonomy=TAX) == approx_rows(query(wh, limit=5, taxonomy=TAX))
        assert query(pg, limit=5, model_version="1.1.0") == approx_rows(
            query(wh, limit=5, model_version="1.1.0")
        )
    assert monitoring.most_rejected_skills(pg, limit=3)  # the scenario has rejections


def test_sql_metrics_match_python_for_every_small_case(pg):
    from tests.unit.monitoring_rows import add_submission

    cases = [(p, c, o) for p in range(3) for c in range(3) for o in range(min(p, c) + 1)]
    for i, case in enumerate(cases):
        add_submission(pg, f"r{i}", *case, model_version=f"v{i:03d}")
    for row, case in zip(monitoring.quality_over_time(pg), cases):
        expected = monitoring.request_metrics(*case)
        assert {m: row[m] for m in monitoring.METRICS} == pytest.approx(expected), case


def test_percentiles_match_percentile_cont(pg):
    latencies = [12.0, 3.0, 7.0, 100.0, 45.0, 8.0, 9.5, 0.25]
    for i, latency in enumerate(latencies):
        log_prediction(pg, f"r{i}", [], latency_ms=latency)
    expected = pg.query_one(
        "SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50, "
        "PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95 FROM prediction_requests"
    )
    [row] = monitoring.usage(pg, T0, T0)["daily"]
    assert row["latency_p50_ms"] == pytest.approx(expected["p50"])
    assert row["latency_p95_ms"] == pytest.approx(expected["p95"])


def test_alerts_once_with_one_build_and_equality_does_not_alert(pg):
    reviews(pg, 20, 3, 4, 2, model_version="1.0.0", end=NOW)  # exactly 0.40
    reviews(pg, 20, 5, 5, 1, model_version="2.0.0", end=NOW)  # 1/9
    [alert] = alerts.check_alerts(pg, FakeSettings(), now=NOW)
    assert alert["model_version"] == "2.0.0" and alert["job_id"] is not None
    assert alerts.check_alerts(pg, FakeSettings(), now=NOW) == []
    assert pg.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'build' AND status = 'queued'") == 1
    assert [a["alert_id"] for a in alerts.open_alerts(pg)] == [alert["alert_id"]]


def test_concurrent_alert_checks_do_not_duplicate(fresh_redshift_url):
    setup = open_warehouse(fresh_redshift_url)
    setup.init_schema()
    reviews(setup, 20, 5, 5, 0, end=NOW)
    warehouses = [open_warehouse(fresh_redshift_url) for _ in range(5)]
    results, errors = run_at_once(lambda w: alerts.check_alerts(w, FakeSettings(), now=NOW), warehouses)
    assert errors == []
    assert sum(len(r) for r in results) == 1
    assert setup.scalar("SELECT COUNT(*) FROM alerts") == 1
    assert setup.scalar("SELECT COUNT(*) FROM jobs") == 1
    for w in warehouses + [setup]:
        w.close()


def test_concurrent_double_submit_keeps_one_submission(fresh_redshift_url):
    setup = open_warehouse(fresh_redshift_url)
    setup.init_schema()
    log_prediction(setup, "r1", ["s0", "s1"])
    warehouses = [open_warehouse(fresh_redshift_url) for _ in range(4)]
    _, errors = run_at_once(
        lambda w: submit_feedback(w, TAX, REVIEWER, "r1", ["s0"], ["s1"], ["s2"], now=T0), warehouses
    )
    assert errors == []
    assert setup.scalar("SELECT COUNT(*) FROM feedback_submissions") == 1
    assert setup.scalar("SELECT COUNT(*) FROM feedback") == 3
    for w in warehouses + [setup]:
        w.close()


def test_feedback_while_the_server_is_down_saves_nothing(fresh_redshift_url, postgres_server):
    wh = open_warehouse(fresh_redshift_url)
    wh.init_schema()
    log_prediction(wh, "r1", ["s0"])
    postgres_server.stop()
    try:
        with pytest.raises(FeedbackError, match="nothing was saved, please retry"):
            submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], [], [], now=T0)
    finally:
        postgres_server.start()
    assert wh.scalar("SELECT COUNT(*) FROM feedback_submissions") == 0
    submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], [], [], now=T0)  # the retry works
    assert wh.scalar("SELECT COUNT(*) FROM feedback_submissions") == 1
    wh.close()


def test_training_pairs_on_postgres(pg):
    log_prediction(pg, "r1", ["s0", "s1"])
    submit_feedback(pg, TAX, REVIEWER, "r1", ["s0"], ["s1"], ["s3"], now=T0)
    n, version, checksum = build_training_pairs(pg, TAX)
    assert (n, version) == (len(load_training_pairs(pg)), "1.0.0")
    assert build_training_pairs(pg, TAX) == (n, version, checksum)
    assert {r["source"] for r in load_training_pairs(pg)} == {
        "feedback",
        "feedback-rejected",
        "taxonomy-alt-label",
        "taxonomy-negative",
    }


def test_schema_version_1_upgrades_to_the_dashboard_indexes(fresh_redshift_url):
    """A PostgreSQL warehouse created at version 1 gets the dashboard indexes (and loses the
    retired ones) on the next init_schema, rows kept; the dashboard answers are unchanged."""
    from mlops.adapters.warehouse import schema
    from tests.integration.test_schema_migration import create_old

    wh = open_warehouse(fresh_redshift_url)
    create_old(wh, 1)
    for ix, table, cols in (
        ("ix_prediction_requests_day", "prediction_requests", "day, model_version"),
        ("ix_feedback_submissions_request", "feedback_submissions", "request_id"),
    ):
        wh.execute(f"CREATE INDEX {ix} ON {table} ({cols})")
    wh.executemany(  # version 1 columns only
        "INSERT INTO prediction_requests (request_id, model_version, stage, created_at, day, week, "
        "input_chars, latency_ms, status) VALUES (?, '1.0.0', 'prod', ?, ?, ?, 10, ?, 'ok')",
        [
            (f"r{i}", timestamp(T0), day_of(T0), week_of(T0), latency)
            for i, latency in enumerate([5.0, 1.0, 3.0])
        ],
    )
    wh.init_schema()
    names = {r["indexname"] for r in wh.query("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_%'")}
    assert names == {ix for ix, _, _ in schema.INDEXES}
    assert [r["version"] for r in wh.query("SELECT version FROM schema_version ORDER BY version")] == list(
        range(1, schema.LATEST_VERSION + 1)
    )
    [row] = monitoring.usage(wh, T0, T0)["daily"]
    assert (row["n_requests"], row["latency_p50_ms"], row["latency_p95_ms"]) == (3, 3.0, pytest.approx(4.8))
    wh.close()


def test_ground_truth_export_gives_the_same_rows_as_sqlite(pg, wh):
    populate(pg)
    populate(wh)
    rows = monitoring.ground_truth(pg, T0, NOW, taxonomy=TAX)
    assert rows and rows == monitoring.ground_truth(wh, T0, NOW, taxonomy=TAX)
    assert monitoring.ground_truth(pg, "2026-11-03", "2026-11-03") == monitoring.ground_truth(
        wh, "2026-11-03", "2026-11-03"
    )


def test_time_per_review_gives_the_same_medians_as_sqlite(pg, wh):
    from tests.unit.monitoring_rows import add_submission

    for warehouse in (pg, wh):
        for i, minutes in enumerate([1, 3, 10, 12]):
            log_prediction(warehouse, f"t{i}", ["s0"], at=T0 + timedelta(hours=i))
            add_submission(warehouse, f"t{i}", 1, 1, 1, at=T0 + timedelta(hours=i, minutes=minutes))
    assert monitoring.review_times(pg) == monitoring.review_times(wh)
    assert monitoring.review_times(pg)["rita"].median_s == 390.0
