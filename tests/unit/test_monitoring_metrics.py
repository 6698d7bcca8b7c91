"""Quality metrics: the per-request definitions (empty sets included) and the services' quality
aggregates over in-memory repositories (the SQL is tested in tests/integration)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops.services import monitoring
from tests.fakes import MemoryRepositories
from tests.unit.monitoring_rows import T0
from tests.unit.service_fakes import submitted


@pytest.mark.parametrize(
    "counts, expected",
    [
        ((0, 0, 0), (1.0, 1.0, 1.0, 1.0)),  # agreed: no skills
        ((0, 3, 0), (0.0, 0.0, 0.0, 0.0)),  # empty predicted set
        ((3, 0, 0), (0.0, 0.0, 0.0, 0.0)),  # empty confirmed set
        ((3, 3, 3), (1.0, 1.0, 1.0, 1.0)),
        ((4, 2, 1), (0.2, 0.25, 0.5, 1 / 3)),
    ],
)
def test_request_metrics(counts, expected):
    assert tuple(monitoring.request_metrics(*counts)[m] for m in monitoring.METRICS) == pytest.approx(
        expected
    )


@pytest.mark.parametrize(
    "counts, message",
    [((1, 1, 2), "overlap 2 must be between 0 and min"), ((2, 2, -1), "counts must be >= 0")],
)
def test_request_metrics_refuse_an_impossible_overlap(counts, message):
    with pytest.raises(ValueError, match=message):
        monitoring.request_metrics(*counts)


def test_quality_per_day_and_version_validates_its_arguments():
    repos = MemoryRepositories()
    submitted(repos, "a", 2, 2, 2, at=T0)
    submitted(repos, "b", 2, 2, 0, at=T0)
    submitted(repos, "c", 1, 1, 1, at=T0 + timedelta(days=1), model_version="1.1.0")
    rows = monitoring.quality_over_time(repos, "day")
    assert [(r["bucket"], r["model_version"], r["n_reviews"], r["jaccard"]) for r in rows] == [
        ("2026-11-02", "1.0.0", 2, 0.5),
        ("2026-11-03", "1.1.0", 1, 1.0),
    ]
    assert monitoring.quality_over_time(repos, start="2026-11-03")[0]["model_version"] == "1.1.0"
    assert monitoring.version_comparison(repos, model_versions=[]) == []
    with pytest.raises(ValueError, match="granularity"):
        monitoring.quality_over_time(repos, "month")
    with pytest.raises(ValueError, match="not a date"):
        monitoring.quality_over_time(repos, start="yesterday")
    with pytest.raises(ValueError, match="start and end"):
        monitoring.usage(repos, None, "2026-12-01")
