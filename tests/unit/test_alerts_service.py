"""Alerts over in-memory repositories: a metric below its threshold raises one alert and queues
one build through `jobs.enqueue`, under the alerts and jobs locks; the SQL, webhooks and
concurrency are tested in tests/integration/test_alerts.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlops.services import alerts, jobs
from mlops.services.identity import PermissionDenied
from tests.fakes import MemoryRepositories
from tests.unit.monitoring_rows import ADMIN, REVIEWER, T0, FakeSettings
from tests.unit.service_fakes import submitted

NOW = T0 + timedelta(hours=1)


@pytest.fixture
def repos():
    return MemoryRepositories()


def reviews(repos, n, counts, version="1.0.0"):
    for i in range(n):
        submitted(repos, f"r{version}-{i}", *counts, model_version=version, at=T0 - timedelta(minutes=i))


def test_low_quality_raises_one_alert_and_queues_one_build_job(repos):
    reviews(repos, 20, (2, 2, 0))
    [alert] = alerts.check_alerts(repos, FakeSettings(), now=NOW, notify=None)
    assert (alert["metric"], alert["value"], alert["n_reviews"], alert["status"]) == (
        "jaccard",
        0.0,
        20,
        "open",
    )
    assert ("alerts", "jobs") in repos.locks_taken
    job = jobs.get(repos, alert["job_id"])
    assert (job.kind, job.params, job.message) == (
        "build",
        {"trigger": "performance-drop"},
        "queued by system: quality below threshold",
    )
    assert alerts.check_alerts(repos, FakeSettings(), now=NOW, notify=None) == []  # still open
    assert [a["alert_id"] for a in alerts.open_alerts(repos)] == [alert["alert_id"]]


def test_a_second_metric_or_version_shares_the_queued_build(repos):
    reviews(repos, 20, (2, 2, 0))
    reviews(repos, 20, (2, 2, 0), version="1.1.0")
    new = alerts.check_alerts(
        repos, FakeSettings(thresholds={"jaccard": 0.4, "f1": 0.4}), now=NOW, notify=None
    )
    assert len(new) == 4 and sum(a["job_id"] is not None for a in new) == 1
    assert len(jobs.list_jobs(repos, kind="build")) == 1


@pytest.mark.parametrize(
    "n, threshold, expected",
    [
        (19, 0.40, 0),  # one review short of the minimum
        (20, 0.40, 1),  # 2/8 = 0.25 < 0.40
        (20, 0.25, 0),  # exactly at the threshold: no alert
        (20, 0.2500001, 1),
    ],
)
def test_min_reviews_and_threshold_boundaries(repos, n, threshold, expected):
    reviews(repos, n, (5, 5, 2))
    new = alerts.check_alerts(repos, FakeSettings(thresholds={"jaccard": threshold}), now=NOW, notify=None)
    assert len(new) == expected


def test_notify_gets_each_new_alert_and_a_failing_one_is_only_logged(repos, caplog):
    reviews(repos, 20, (2, 2, 0))
    sent = []

    def notify(url, payload):
        sent.append((url, payload["event"], payload["metric"]))
        raise OSError("down")

    new = alerts.check_alerts(repos, FakeSettings(webhook_url="http://hook"), now=NOW, notify=notify)
    assert sent == [("http://hook", "sea.alert", "jaccard")] and len(new) == 1
    assert "webhook http://hook failed" in caplog.text


def test_acknowledge_is_admin_only_audited_and_idempotent(repos):
    reviews(repos, 20, (2, 2, 0))
    [alert] = alerts.check_alerts(repos, FakeSettings(), now=NOW, notify=None)
    with pytest.raises(PermissionDenied):
        alerts.acknowledge(repos, REVIEWER, alert["alert_id"])
    assert alerts.acknowledge(repos, ADMIN, alert["alert_id"])["status"] == "acknowledged"
    alerts.acknowledge(repos, ADMIN, alert["alert_id"])
    assert len(repos.audit.events(action="alert.acknowledge")) == 1 and alerts.open_alerts(repos) == []
    with pytest.raises(alerts.AlertError, match="unknown alert"):
        alerts.acknowledge(repos, ADMIN, "nope")
