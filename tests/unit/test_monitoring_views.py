"""The Monitoring page's Streamlit-free parts: usage per day (totals and bars from the same
rows), the usage charts' axes, the most corrected skills with titles, and the table exports."""

from __future__ import annotations

import io

import pytest

from mlops.entrypoints.ui import charts
from mlops.entrypoints.ui.labels import decision_rows
from mlops.services import exports
from mlops.services.monitoring import usage_summary


def _group(day, version, n, errors=0, p50=None, p95=None) -> dict:
    return {
        "day": day,
        "model_version": version,
        "n_requests": n,
        "n_errors": errors,
        "latency_p50_ms": p50,
        "latency_p95_ms": p95,
    }


DAILY = [
    _group("2026-11-02", "1.0.0", 2, 1, 10.0, 20.0),
    _group("2026-11-02", None, 1, 1),  # a failure no model version answered
    _group("2026-11-02", "0.0.0", 1, 0, 40.0, 80.0),  # a version nobody reviewed
    _group("2026-11-04", "1.0.0", 3, 0, 30.0, 60.0),
]


# -- usage per day -----------------------------------------------------------------------------
def test_totals_and_days_come_from_the_same_rows():
    summary = usage_summary(DAILY)
    assert [(d.day, d.n_requests, d.n_errors) for d in summary.days] == [
        ("2026-11-02", 4, 2),
        ("2026-11-04", 3, 0),
    ]
    assert summary.n_requests == 7 == sum(d.n_requests for d in summary.days)
    assert summary.error_rate == pytest.approx(2 / 7)


def test_latency_is_weighted_by_requests_and_ignores_groups_without_one():
    day = usage_summary(DAILY).days[0]
    assert day.latency_p50_ms == pytest.approx((2 * 10 + 1 * 40) / 3)
    assert day.latency_p95_ms == pytest.approx((2 * 20 + 1 * 80) / 3)


def test_chosen_versions_filter_totals_and_days_alike():
    summary = usage_summary(DAILY, ["0.0.0"])
    assert [(d.day, d.n_requests) for d in summary.days] == [("2026-11-02", 1)] and summary.n_requests == 1


def test_no_rows_or_no_chosen_version_is_empty():
    for summary in (usage_summary([]), usage_summary(DAILY, [])):
        assert summary.days == () and summary.n_requests == 0 and summary.error_rate == 0.0


def test_a_day_without_latencies_has_none():
    [day] = usage_summary([_group("2026-11-02", "1.0.0", 2)]).days
    assert day.latency_p50_ms is None and day.latency_p95_ms is None


# -- charts ------------------------------------------------------------------------------------
def test_one_day_axis_is_a_padded_date_range_with_day_ticks():
    axis = charts.day_axis(["2026-11-02"])
    assert axis["type"] == "date" and axis["dtick"] == charts.DAY_MS
    assert axis["range"] == ["2026-11-01 12:00", "2026-11-02 12:00"]


def test_day_ticks_up_to_the_limit_then_plotly_steps():
    days = [f"2026-11-{d:02d}" for d in range(1, charts.MAX_DAY_TICKS + 1)]
    assert charts.day_axis(days)["dtick"] == charts.DAY_MS
    longer = charts.day_axis([*days, "2026-11-30"])
    assert "dtick" not in longer and longer["minor"] == {"dtick": charts.DAY_MS}


def test_empty_axis_has_no_range():
    assert "range" not in charts.day_axis([])


def test_latency_chart_draws_markers_and_requests_chart_the_summary():
    summary = usage_summary(DAILY)
    latency = charts.latency_chart(summary)
    assert [t.mode for t in latency.data] == ["lines+markers", "lines+markers"]
    assert list(latency.data[0].y) == [pytest.approx(20.0), 30.0]
    requests = charts.requests_chart(summary)
    assert list(requests.data[0].y) == [4, 3] and list(requests.data[1].y) == [2, 0]
    assert charts.png_config("x")["toImageButtonOptions"] == {"format": "png", "filename": "x", "scale": 2}


# -- most corrected skills ---------------------------------------------------------------------
def test_decision_rows_show_titles_first():
    row = {"skill_id": "f" * 64, "title": "Python", "n_accepted": 1, "n_rejected": 3, "n_added": 0}
    [shown] = decision_rows([{**row, "precision": 0.25, "recall": 1.0}])
    assert list(shown)[0] == "Skill" and shown["Skill"] == "Python" and shown["Rejected"] == 3
    assert "f" * 12 not in str(shown)


def test_decision_rows_name_an_unknown_skill_by_a_short_id():
    row = {"skill_id": "a" * 64, "title": None, "n_accepted": 0, "n_rejected": 1, "n_added": 0}
    [shown] = decision_rows([{**row, "precision": 0.0, "recall": None}])
    assert shown["Skill"] == f"not in the taxonomy ({'a' * 12}…)"
    assert decision_rows([]) == []


# -- exports -----------------------------------------------------------------------------------
ROWS = [{"a": "x,y", "b": 1}, {"a": "é", "c": "dropped"}]


def test_csv_has_the_header_and_quotes_commas():
    assert exports.to_csv(ROWS, ["a", "b"]).decode("utf-8") == 'a,b\n"x,y",1\né,\n'


def test_parquet_round_trips():
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(exports.to_parquet(ROWS, ["a", "b"])))
    assert table.column_names == ["a", "b"] and table.to_pylist() == [
        {"a": "x,y", "b": 1},
        {"a": "é", "b": None},
    ]


def test_empty_exports_keep_the_columns():
    import pyarrow.parquet as pq

    assert exports.to_csv([], ["a", "b"]) == b"a,b\n"
    table = pq.read_table(io.BytesIO(exports.to_parquet([], ["a", "b"])))
    assert table.column_names == ["a", "b"] and table.num_rows == 0


# -- a reviewer's own quality ------------------------------------------------------------------
def _reviewed_twice():
    from mlops.services.feedback import submit_feedback
    from mlops.services.identity import User
    from tests.fakes import MemoryRepositories
    from tests.unit.monitoring_rows import REVIEWER, T0, small_taxonomy
    from tests.unit.service_fakes import served

    repos, tax, rob = MemoryRepositories(), small_taxonomy(), User("rob", frozenset({"reviewer"}))
    shared = served(repos, "shared text", "1.0.0", {"s0": 0.8, "s1": 0.6})
    alone = served(repos, "rita only", "1.0.0", {"s2": 0.7})
    submit_feedback(repos, tax, REVIEWER, shared, ["s0", "s1"], [], [], now=T0)
    submit_feedback(repos, tax, rob, shared, ["s0"], ["s1"], [], now=T0)
    submit_feedback(repos, tax, REVIEWER, alone, ["s2"], [], [], now=T0)
    return repos


def test_reviewer_quality_is_their_reviews_and_agreement():
    from mlops.services.monitoring import reviewer_quality

    mine = reviewer_quality(_reviewed_twice(), "rita")
    assert mine.n_reviews == 2 and mine.own is not None
    assert (mine.own.n_texts, mine.own.n_pairs, mine.own.jaccard) == (1, 1, 0.5)
    assert mine.overall.jaccard == 0.5


def test_reviewer_quality_of_someone_without_reviews_or_shared_texts():
    from mlops.services.monitoring import reviewer_quality

    nobody = reviewer_quality(_reviewed_twice(), "zoe")
    assert nobody.n_reviews == 0 and nobody.own is None and nobody.overall.n_pairs == 1
    outside = reviewer_quality(_reviewed_twice(), "rita", "2026-12-01", "2026-12-31")
    assert outside.n_reviews == 0 and outside.own is None and outside.overall.jaccard is None
