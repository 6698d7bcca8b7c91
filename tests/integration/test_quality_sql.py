"""The monitoring SQL is THE quality definition written in SQL: every `METRIC_SQL` expression
equals `sea_core.quality.count_scores` on every small case (|P|, |C|, |P∩C| <= 3, valid
combinations), on SQLite and on PostgreSQL driven as Redshift."""

from __future__ import annotations

import pytest

from mlops.adapters.warehouse.monitoring import METRIC_SQL
from sea_core.quality import SET_METRICS, count_scores

CASES = [(p, c, o) for p in range(4) for c in range(4) for o in range(min(p, c) + 1)]


def test_every_metric_expression_equals_count_scores_on_every_small_case(warehouse):
    warehouse.executemany(
        "INSERT INTO prediction_scores (request_id, model_version, reviewer, n_predicted, "
        "n_confirmed, n_overlap) VALUES (?, '1.0.0', 'rita', ?, ?, ?)",
        [(f"r{i:02d}", *case) for i, case in enumerate(CASES)],
    )
    items = ", ".join(f"{METRIC_SQL[m]} AS {m}" for m in SET_METRICS)
    rows = warehouse.query(
        f"SELECT n_predicted, n_confirmed, n_overlap, {items} FROM prediction_scores ORDER BY request_id"
    )
    assert [(r["n_predicted"], r["n_confirmed"], r["n_overlap"]) for r in rows] == CASES
    assert len(CASES) == 30 and set(METRIC_SQL) == set(SET_METRICS)
    for row, case in zip(rows, CASES, strict=True):
        expected = count_scores(*case).as_dict()
        for metric in SET_METRICS:
            assert float(row[metric]) == pytest.approx(expected[metric], abs=1e-12), (case, metric)
