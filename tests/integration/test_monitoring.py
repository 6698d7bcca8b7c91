"""Monitoring aggregates on SQLite: metric definitions (empty sets included), day/week buckets,
inclusive date bounds, usage percentiles (exact, at every rank), input length buckets, error
analysis, and the covering indexes the dashboard queries read (query plans, not timings)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from mlops.adapters.warehouse.monitoring import SqlMonitoringQueries
from mlops.services import monitoring
from mlops.services.feedback import submit_feedback
from tests.unit.monitoring_rows import REVIEWER, T0, add_submission, log_prediction, small_taxonomy

TAX = small_taxonomy()


# -- metric definitions ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "counts, expected",
    [
        ((0, 0, 0), (1.0, 1.0, 1.0, 1.0)),  # agreed: no skills
        ((0, 3, 0), (0.0, 0.0, 0.0, 0.0)),  # empty predicted set
        ((3, 0, 0), (0.0, 0.0, 0.0, 0.0)),  # empty confirmed set
        ((2, 2, 2), (1.0, 1.0, 1.0, 1.0)),  # perfect
        ((2, 2, 0), (0.0, 0.0, 0.0, 0.0)),  # disjoint
        ((4, 2, 1), (1 / 5, 1 / 4, 1 / 2, 2 / 6)),  # partial
        ((1, 1, 1), (1.0, 1.0, 1.0, 1.0)),  # single
    ],
)
def test_request_metrics_definitions(counts, expected):
    values = monitoring.request_metrics(*counts)
    assert tuple(values[m] for m in monitoring.METRICS) == pytest.approx(expected)


@pytest.mark.parametrize(
    "counts, message",
    [
        ((1, 1, 2), "overlap 2 must be between"),
        ((2, 1, -1), "counts must be >= 0"),
        ((0, 0, 1), "overlap 1 must be between"),
    ],
)
def test_request_metrics_rejects_impossible_overlap(counts, message):
    with pytest.raises(ValueError, match=message):
        monitoring.request_metrics(*counts)


def test_sql_metrics_match_the_python_definitions_for_every_small_case(wh):
    cases = [(p, c, o) for p in range(4) for c in range(4) for o in range(min(p, c) + 1)]
    for i, (p, c, o) in enumerate(cases):
        add_submission(wh, f"r{i}", p, c, o, model_version=f"v{i:03d}")
    rows = monitoring.quality_over_time(wh)
    assert len(rows) == len(cases)
    for row, case in zip(rows, cases):
        expected = monitoring.request_metrics(*case)
        assert row["n_reviews"] == 1
        for metric in monitoring.METRICS:
            assert row[metric] == pytest.approx(expected[metric]), (case, metric)


# -- quality over time -----------------------------------------------------------------------------
def test_quality_per_day_and_model_version_is_the_mean(wh):
    add_submission(wh, "a", 2, 2, 2, at=T0)  # jaccard 1
    add_submission(wh, "b", 2, 2, 0, at=T0 + timedelta(hours=1))  # jaccard 0
    add_submission(wh, "c", 4, 2, 1, at=T0 + timedelta(days=1))  # jaccard 0.2
    add_submission(wh, "d", 1, 1, 1, at=T0, model_version="2.0.0")
    rows = monitoring.quality_over_time(wh, "day")
    assert [(r["bucket"], r["model_version"], r["n_reviews"]) for r in rows] == [
        ("2026-11-02", "1.0.0", 2),
        ("2026-11-02", "2.0.0", 1),
        ("2026-11-03", "1.0.0", 1),
    ]
    assert rows[0]["jaccard"] == pytest.approx(0.5) and rows[2]["jaccard"] == pytest.approx(0.2)
    only = monitoring.quality_over_time(wh, "day", model_version="2.0.0")
    assert [(r["bucket"], r["jaccard"]) for r in only] == [("2026-11-02", 1.0)]


def test_quality_per_iso_week_crosses_the_year_boundary(wh):
    add_submission(wh, "a", 1, 1, 1, at=datetime(2026, 12, 31, 12))  # Thursday of 2026-W53
    add_submission(wh, "b", 1, 1, 0, at=datetime(2027, 1, 3, 12))  # Sunday, still 2026-W53
    add_submission(wh, "c", 1, 1, 1, at=datetime(2027, 1, 4, 12))  # Monday: 2027-W01
    rows = monitoring.quality_over_time(wh, "week")
    assert [(r["bucket"], r["n_reviews"]) for r in rows] == [("2026-W53", 2), ("2027-W01", 1)]
    assert rows[0]["jaccard"] == pytest.approx(0.5)


def test_start_and_end_days_are_inclusive(wh):
    for offset in range(5):
        add_submission(wh, f"r{offset}", 1, 1, 1, at=T0 + timedelta(days=offset, hours=14))  # 23:00
    rows = monitoring.quality_over_time(wh, start="2026-11-03", end=date(2026, 11, 5))
    assert [r["bucket"] for r in rows] == ["2026-11-03", "2026-11-04", "2026-11-05"]
    rows = monitoring.quality_over_time(wh, start=datetime(2026, 11, 6, 23, 59))
    assert [r["bucket"] for r in rows] == ["2026-11-06"]


def test_quality_with_no_reviews_is_empty(wh):
    assert monitoring.quality_over_time(wh) == []
    assert monitoring.version_comparison(wh) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"granularity": "month"}, "granularity"),
        ({"start": "yesterday"}, "not a date"),
    ],
)
def test_quality_rejects_bad_arguments(wh, kwargs, message):
    with pytest.raises(ValueError, match=message):
        monitoring.quality_over_time(wh, **kwargs)


def test_version_comparison(wh):
    add_submission(wh, "a", 2, 2, 2, model_version="1.0.0", at=T0)
    add_submission(wh, "b", 2, 2, 1, model_version="1.0.0", at=T0 + timedelta(days=2))
    add_submission(wh, "c", 2, 2, 0, model_version="1.1.0", at=T0)
    rows = monitoring.version_comparison(wh)
    assert [(r["model_version"], r["n_reviews"], r["first_day"], r["last_day"]) for r in rows] == [
        ("1.0.0", 2, "2026-11-02", "2026-11-04"),
        ("1.1.0", 1, "2026-11-02", "2026-11-02"),
    ]
    assert rows[0]["jaccard"] == pytest.approx((1 + 1 / 3) / 2)
    assert [r["model_version"] for r in monitoring.version_comparison(wh, model_versions=["1.1.0"])] == [
        "1.1.0"
    ]
    assert monitoring.version_comparison(wh, model_versions=[]) == []


def test_quality_from_real_feedback_submissions(wh):
    log_prediction(wh, "r1", ["s0", "s1", "s2"])
    submit_feedback(wh, TAX, REVIEWER, "r1", ["s0"], ["s1"], ["s3"], now=T0)
    [row] = monitoring.quality_over_time(wh)
    assert row["jaccard"] == pytest.approx(1 / 4)  # P={0,1,2}, C={0,3}
    assert row["precision"] == pytest.approx(1 / 3) and row["recall"] == pytest.approx(1 / 2)


# -- usage -----------------------------------------------------------------------------------------
def test_usage_latency_percentiles_interpolate_like_percentile_cont(wh):
    latencies = [12.0, 3.0, 7.0, 100.0, 45.0, 8.0, 9.5]
    for i, latency in enumerate(latencies):
        log_prediction(wh, f"r{i}", [], latency_ms=latency, at=T0 + timedelta(minutes=i))
    log_prediction(wh, "nolatency", [], latency_ms=None, at=T0)
    [row] = monitoring.usage(wh, "2026-11-02", "2026-11-02")["daily"]
    assert row["n_requests"] == 8
    assert row["latency_p50_ms"] == pytest.approx(np.percentile(latencies, 50))
    assert row["latency_p95_ms"] == pytest.approx(np.percentile(latencies, 95))


@pytest.mark.parametrize("n", [1, 2, 3, 20, 21])
def test_usage_percentiles_for_small_and_boundary_group_sizes(wh, n):
    latencies = [float((i * 37) % 101) for i in range(n)]
    for i, latency in enumerate(latencies):
        log_prediction(wh, f"r{i}", [], latency_ms=latency)
    [row] = monitoring.usage(wh, T0, T0)["daily"]
    assert row["latency_p50_ms"] == pytest.approx(np.percentile(latencies, 50))
    assert row["latency_p95_ms"] == pytest.approx(np.percentile(latencies, 95))


def test_usage_groups_by_day_version_and_stage_with_error_rate(wh):
    log_prediction(wh, "a", [], stage="prod", model_version="1.0.0")
    log_prediction(wh, "b", [], stage="prod", model_version="1.0.0", status="error")
    log_prediction(wh, "c", [], stage="prod", model_version="1.0.0")
    log_prediction(wh, "d", [], stage="prod", model_version="1.0.0")
    log_prediction(wh, "e", [], stage="uat", model_version="1.1.0")
    log_prediction(wh, "f", [], stage="prod", model_version="1.0.0", at=T0 + timedelta(days=1))
    result = monitoring.usage(wh, "2026-11-02", "2026-11-03")
    keys = [
        (r["day"], r["model_version"], r["stage"], r["n_requests"], r["n_errors"]) for r in result["daily"]
    ]
    assert keys == [
        ("2026-11-02", "1.0.0", "prod", 4, 1),
        ("2026-11-02", "1.1.0", "uat", 1, 0),
        ("2026-11-03", "1.0.0", "prod", 1, 0),
    ]
    assert result["daily"][0]["error_rate"] == 0.25
    assert result["total"] == {"n_requests": 6, "n_errors": 1, "error_rate": pytest.approx(1 / 6)}
    uat = monitoring.usage(wh, "2026-11-02", "2026-11-03", stage="uat")
    assert [r["stage"] for r in uat["daily"]] == ["uat"] and uat["total"]["n_requests"] == 1


def test_usage_input_length_buckets_boundaries(wh):
    for i, length in enumerate([0, 99, 100, 249, 250, 19999, 20000, 50000]):
        log_prediction(wh, f"r{i}", [], text="x" * length)
    buckets = monitoring.usage(wh, T0, T0)["input_lengths"]
    counts = {b["label"]: b["n_requests"] for b in buckets}
    assert counts["0-99"] == 2 and counts["100-249"] == 2 and counts["250-499"] == 1
    assert counts["10000-19999"] == 1 and counts["20000+"] == 2
    assert sum(counts.values()) == 8 and len(buckets) == len(monitoring.INPUT_LENGTH_EDGES)
    assert buckets[-1]["upper"] is None and buckets[0]["lower"] == 0


def test_usage_of_an_empty_period(wh):
    log_prediction(wh, "a", [])
    result = monitoring.usage(wh, "2026-12-01", "2026-12-31")
    assert result["daily"] == [] and result["total"] == {"n_requests": 0, "n_errors": 0, "error_rate": 0.0}
    assert all(b["n_requests"] == 0 for b in result["input_lengths"])


def test_usage_needs_both_bounds(wh):
    with pytest.raises(ValueError, match="start and end"):
        monitoring.usage(wh, None, "2026-12-01")


def test_process_resources_reports_this_process():
    import os
    import threading

    from mlops.adapters.system import process_resources

    resources = process_resources()
    assert resources["pid"] == os.getpid() and resources["rss_mb"] > 1
    assert 0 <= resources["cpu_percent"] <= 100 * (os.cpu_count() or 1)
    assert resources["threads"] >= threading.active_count()  # OS threads include Python's


# -- error analysis --------------------------------------------------------------------------------
@pytest.fixture
def reviewed(wh):
    """s1 rejected 3x (accepted 1x), s2 rejected 1x, s7 added 2x, s0 accepted 4x."""
    plans = [
        (["s0", "s1"], ["s0"], ["s1"], ["s7"]),
        (["s0", "s1"], ["s0"], ["s1"], ["s7"]),
        (["s0", "s1", "s2"], ["s0"], ["s1", "s2"], []),
        (["s0", "s1"], ["s0", "s1"], [], []),
    ]
    for i, (predicted, acc, rej, add) in enumerate(plans):
        log_prediction(wh, f"r{i}", predicted, model_version="1.0.0" if i < 3 else "2.0.0")
        submit_feedback(wh, TAX, REVIEWER, f"r{i}", acc, rej, add, now=T0 + timedelta(days=i))
    return wh


def test_most_rejected_skills_with_counts_and_precision(reviewed):
    rows = monitoring.most_rejected_skills(reviewed, limit=10, taxonomy=TAX)
    assert [(r["skill_id"], r["n_rejected"], r["n_accepted"]) for r in rows] == [("s1", 3, 1), ("s2", 1, 0)]
    assert rows[0]["precision"] == pytest.approx(1 / 4) and rows[0]["title"] == "skill number 1"
    assert rows[1]["precision"] == 0.0 and rows[1]["recall"] is None
    assert [r["skill_id"] for r in monitoring.most_rejected_skills(reviewed, limit=1)] == ["s1"]


def test_most_added_skills_and_filters(reviewed):
    [row] = monitoring.most_added_skills(reviewed, limit=5)
    assert (row["skill_id"], row["n_added"], row["precision"], row["recall"]) == ("s7", 2, None, 0.0)
    assert row["title"] is None  # no taxonomy given
    assert monitoring.most_added_skills(reviewed, model_version="2.0.0") == []
    late = monitoring.most_rejected_skills(reviewed, start="2026-11-04")  # r2 and r3 only
    assert [(r["skill_id"], r["n_rejected"], r["n_accepted"]) for r in late] == [("s1", 1, 1), ("s2", 1, 0)]


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_error_analysis_rejects_bad_limits(wh, limit):
    with pytest.raises(ValueError, match="limit"):
        monitoring.most_rejected_skills(wh, limit=limit)


def test_error_analysis_without_feedback_is_empty(wh):
    assert monitoring.most_rejected_skills(wh) == [] and monitoring.most_added_skills(wh) == []


def test_usage_groups_without_latency_or_with_missing_keys(wh):
    log_prediction(wh, "a", [], latency_ms=None, stage="uat")
    log_prediction(wh, "b", [], latency_ms=30.0, model_version=None, stage=None)
    log_prediction(wh, "c", [], latency_ms=10.0, model_version=None, stage=None)
    daily = monitoring.usage(wh, T0, T0)["daily"]
    by_stage = {r["stage"]: r for r in daily}
    assert by_stage["uat"]["latency_p50_ms"] is None and by_stage["uat"]["n_requests"] == 1
    assert by_stage[None]["model_version"] is None and by_stage[None]["latency_p50_ms"] == 20.0
    assert by_stage[None]["latency_p95_ms"] == pytest.approx(29.0)


# -- percentiles at every rank and the query plans the dashboard relies on -------------------------
@pytest.mark.parametrize("n", range(1, 14))
def test_latency_percentiles_match_numpy_at_every_rank_and_direction(wh, monkeypatch, n):
    """Low percentiles walk the index upwards, high ones downwards: both agree with numpy's
    linear interpolation (PERCENTILE_CONT), duplicates and the 0th/100th percentile included."""
    monkeypatch.setattr(monitoring, "PERCENTILES", (0, 1, 25, 49, 50, 51, 75, 95, 99, 100))
    latencies = [float((i * 7) % 5) * 10 + i / 100 if i % 3 else 20.0 for i in range(n)]
    for i, latency in enumerate(latencies):
        log_prediction(wh, f"r{i}", [], latency_ms=latency, at=T0 + timedelta(minutes=i))
    percentiles = SqlMonitoringQueries(wh, native_percentiles=False).latency_percentiles(
        ("2026-11-02", "1.0.0", "prod"), n, monitoring.PERCENTILES
    )
    for percent in monitoring.PERCENTILES:
        assert percentiles[percent] == pytest.approx(np.percentile(latencies, percent)), percent


def test_percentiles_of_one_group_ignore_neighbouring_groups(wh):
    for i, latency in enumerate([1.0, 2.0, 3.0]):
        log_prediction(wh, f"a{i}", [], latency_ms=latency, model_version="1.0.0")
    for i, latency in enumerate([100.0, 200.0]):  # same day, other version / other stage
        log_prediction(wh, f"b{i}", [], latency_ms=latency, model_version="1.1.0")
        log_prediction(wh, f"c{i}", [], latency_ms=latency * 10, stage="uat")
    daily = {(r["model_version"], r["stage"]): r for r in monitoring.usage(wh, T0, T0)["daily"]}
    assert (daily[("1.0.0", "prod")]["latency_p50_ms"], daily[("1.0.0", "prod")]["latency_p95_ms"]) == (
        2.0,
        pytest.approx(2.9),
    )
    assert daily[("1.1.0", "prod")]["latency_p50_ms"] == 150.0
    assert daily[("1.0.0", "uat")]["latency_p95_ms"] == pytest.approx(1950.0)


def test_usage_mean_input_chars_and_lengths_from_one_pass(wh):
    for i, length in enumerate([10, 20, 300]):
        log_prediction(wh, f"r{i}", [], text="x" * length)
    result = monitoring.usage(wh, T0, T0)
    assert result["daily"][0]["mean_input_chars"] == pytest.approx(110.0)
    buckets = result["input_lengths"]
    assert len(buckets) == len(monitoring.INPUT_LENGTH_EDGES) and buckets[0]["label"] == "0-99"
    assert [b["n_requests"] for b in buckets] == [2, 0, 1] + [0] * (len(buckets) - 3)


def record_queries(wh, monkeypatch) -> list[tuple[str, tuple]]:
    """Record every (sql, params) `wh.query` runs from now on (until monkeypatch.undo())."""
    seen: list[tuple[str, tuple]] = []
    original = wh.query

    def query(sql, params=()):
        seen.append((sql, tuple(params)))
        return original(sql, params)

    monkeypatch.setattr(wh, "query", query)
    return seen


def _plan(wh, sql, params):
    return " ".join(str(row["detail"]) for row in wh.query(f"EXPLAIN QUERY PLAN {sql}", params))


def test_usage_queries_read_only_the_covering_index(wh, monkeypatch):
    """The usage pass and the percentile look-ups never touch the table rows (whose
    `original_input` can be large) and never sort: they walk ix_prediction_requests_usage."""
    for i in range(30):
        log_prediction(wh, f"r{i}", [], latency_ms=float(i), at=T0 + timedelta(days=i % 3))
    wh.execute("ANALYZE")
    seen = record_queries(wh, monkeypatch)
    monitoring.usage(wh, T0, T0 + timedelta(days=2))
    monkeypatch.undo()
    assert len(seen) == 1 + 3 * len(monitoring.PERCENTILES)  # one pass, then 2 small look-ups per group
    for sql, params in seen:
        plan = _plan(wh, sql, params)
        assert "COVERING INDEX ix_prediction_requests_usage" in plan, (sql, plan)
        assert "TEMP B-TREE" not in plan, (sql, plan)


def test_most_rejected_and_added_use_the_decision_indexes(reviewed, monkeypatch):
    reviewed.execute("ANALYZE")
    seen = record_queries(reviewed, monkeypatch)
    monitoring.most_rejected_skills(reviewed, limit=5)
    monkeypatch.undo()
    ranking, counts = (_plan(reviewed, sql, params) for sql, params in seen)
    assert "COVERING INDEX ix_feedback_decision (decision=?)" in ranking
    assert "COVERING INDEX ix_feedback_skill (skill_id=?)" in counts


def test_quality_and_alert_window_read_only_covering_indexes(wh, monkeypatch):
    for i in range(12):
        add_submission(
            wh,
            f"r{i}",
            2,
            2,
            i % 3,
            at=T0 + timedelta(hours=7 * i),
            model_version="1.0.0" if i % 2 else "1.1.0",
        )
    wh.execute("ANALYZE")
    seen = record_queries(wh, monkeypatch)
    quality = monitoring.quality_over_time(wh, "day", start=T0, end=T0 + timedelta(days=3))
    window = monitoring.window_quality(wh, "2026-11-02T00:00:00", "2026-11-03T23:59:59")
    monkeypatch.undo()
    assert sum(r["n_reviews"] for r in quality) == 12 and sum(r["n_reviews"] for r in window) == 6
    (quality_sql, quality_params), (window_sql, window_params) = seen
    assert "COVERING INDEX ix_prediction_scores_quality" in _plan(wh, quality_sql, quality_params)
    assert "COVERING INDEX ix_prediction_scores_window" in _plan(wh, window_sql, window_params)


# -- ground truth export ---------------------------------------------------------------------------
def test_ground_truth_is_each_reviews_confirmed_skills_with_titles_and_text(reviewed):
    rows = monitoring.ground_truth(reviewed, taxonomy=TAX)
    assert list(rows[0]) == list(monitoring.GROUND_TRUTH_COLUMNS)
    by_request: dict[str, set] = {}
    for row in rows:
        by_request.setdefault(row["request_id"], set()).add((row["skill_id"], row["decision"]))
    assert by_request == {
        "r0": {("s0", "accepted"), ("s7", "added")},
        "r1": {("s0", "accepted"), ("s7", "added")},
        "r2": {("s0", "accepted")},
        "r3": {("s0", "accepted"), ("s1", "accepted")},
    }
    assert {row["skill_title"] for row in rows} == {"skill number 0", "skill number 1", "skill number 7"}
    assert {row["text"] for row in rows if row["request_id"] == "r2"} == {"text of r2"}
    assert [row["request_id"] for row in rows] == sorted(row["request_id"] for row in rows)  # by time


def test_ground_truth_period_and_a_review_that_confirmed_nothing(wh):
    log_prediction(wh, "none", ["s1"])
    submit_feedback(wh, TAX, REVIEWER, "none", [], ["s1"], [], now=T0)
    [row] = monitoring.ground_truth(wh, "2026-11-02", "2026-11-02")
    assert (row["request_id"], row["skill_id"], row["decision"], row["skill_title"]) == ("none", "", "", "")
    assert monitoring.ground_truth(wh, "2026-11-03", "2026-11-30") == []


def test_ground_truth_of_an_empty_warehouse(wh):
    assert monitoring.ground_truth(wh) == []


# -- time per review -------------------------------------------------------------------------------
def _timed_review(wh, request_id, reviewer, served_at, minutes):
    from tests.unit.monitoring_rows import add_submission

    log_prediction(wh, request_id, ["s0"], at=served_at)
    add_submission(wh, request_id, 1, 1, 1, at=served_at + timedelta(minutes=minutes), reviewer=reviewer)


def test_epoch_seconds_sql_matches_python_across_leap_days_and_years(wh):
    from mlops.adapters.warehouse.monitoring import epoch_seconds_sql
    from mlops.domain.clock import timestamp

    for moment in (
        datetime(1970, 1, 1),
        datetime(2000, 2, 29, 23, 59, 59),
        datetime(2024, 3, 1, 0, 0, 1),
        datetime(2026, 12, 31, 12, 30, 5, 999000),
        datetime(2100, 3, 1),
    ):
        value = timestamp(moment)
        seconds = wh.scalar(f"SELECT {epoch_seconds_sql('x')} FROM (SELECT ? AS x) t", (value,))
        assert seconds == int((moment - datetime(1970, 1, 1)).total_seconds()), value


def test_median_time_per_review_per_reviewer(wh):
    for i, minutes in enumerate([1, 3, 10]):  # rita: odd count, median 3 min
        _timed_review(wh, f"a{i}", "rita", T0 + timedelta(hours=i), minutes)
    for i, minutes in enumerate([2, 4]):  # rob: even count, median between 2 and 4 min
        _timed_review(wh, f"b{i}", "rob", T0 + timedelta(hours=i), minutes)
    times = monitoring.review_times(wh)
    assert {name: (t.n_reviews, t.median_s) for name, t in times.items()} == {
        "rita": (3, 180.0),
        "rob": (2, 180.0),
    }


def test_time_per_review_uses_the_latest_serving_before_the_review_and_the_period(wh):
    _timed_review(wh, "a", "rita", T0, 5)
    log_prediction(wh, "a", ["s0"], model_version="1.1.0", at=T0 + timedelta(minutes=4))  # served again
    log_prediction(wh, "a", ["s0"], model_version="1.2.0", at=T0 + timedelta(hours=1))  # after the review
    assert monitoring.review_times(wh)["rita"].median_s == 60.0
    assert monitoring.review_times(wh, "2026-11-03", "2026-11-30") == {}


def test_reviews_of_texts_never_served_are_not_timed(wh):
    from tests.unit.monitoring_rows import add_submission

    add_submission(wh, "orphan", 1, 1, 1)
    assert monitoring.review_times(wh) == {}
