"""Alerts on SQLite: threshold and min-review boundaries, once-only alerts, one queued build,
webhooks (ok, HTTP 500, timeout), acknowledgement, concurrency, the `monitor` command, and a
functional run of 30 reviewers disagreeing with the model."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlops.adapters.warehouse import open_warehouse
from mlops.entrypoints.cli import main
from mlops.services import alerts, audit
from mlops.services.feedback import submit_feedback
from mlops.services.identity import PermissionDenied
from tests.integration.concurrency import run_at_once
from tests.unit.monitoring_rows import (
    ADMIN,
    REVIEWER,
    T0,
    FakeSettings,
    add_submission,
    log_prediction,
    reviews,
    small_taxonomy,
)

NOW = T0 + timedelta(hours=1)


class Hook:
    """A local webhook receiver answering `status` after `delay` seconds."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append(json.loads(body))
                time.sleep(delay)
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_factory():
    hooks: list[Hook] = []

    def make(status: int = 200, delay: float = 0.0) -> Hook:
        hooks.append(Hook(status, delay))
        return hooks[-1]

    yield make
    for hook in hooks:
        hook.close()


def jobs(wh):
    return wh.query("SELECT kind, status, params FROM jobs ORDER BY created_at")


def alert_rows(wh):
    return wh.query("SELECT metric, model_version, status, n_reviews, value FROM alerts")


# -- happy path ------------------------------------------------------------------------------------
def test_low_quality_raises_an_alert_queues_a_build_and_audits(wh):
    reviews(wh, 20, 5, 5, 1)  # jaccard 1/9 each
    calls = []
    [alert] = alerts.check_alerts(
        wh,
        FakeSettings(webhook_url="http://hook.example/x"),
        now=NOW,
        notify=lambda url, payload: calls.append((url, payload)),
    )
    assert (alert["metric"], alert["model_version"], alert["n_reviews"]) == ("jaccard", "1.0.0", 20)
    assert alert["value"] == pytest.approx(1 / 9) and alert["threshold"] == 0.40
    assert (
        alert["window_end"] == "2026-11-02T10:00:00.000Z"
        and alert["window_start"] == "2026-10-26T10:00:00.000Z"
    )
    assert "below 0.40" in alert["message"]
    assert jobs(wh) == [{"kind": "build", "status": "queued", "params": '{"trigger": "performance-drop"}'}]
    assert alert["job_id"] == wh.scalar("SELECT job_id FROM jobs")
    assert [a["alert_id"] for a in alerts.open_alerts(wh)] == [alert["alert_id"]]
    assert [e["target"] for e in audit.events(wh, action="alert.raise")] == [alert["alert_id"]]
    assert len(audit.events(wh, action="job.enqueue")) == 1
    [(url, payload)] = calls
    assert url == "http://hook.example/x" and payload["event"] == "sea.alert"
    assert payload["alert_id"] == alert["alert_id"]


def test_alert_is_raised_once_while_open(wh):
    reviews(wh, 25, 5, 5, 1)
    assert len(alerts.check_alerts(wh, FakeSettings(), now=NOW)) == 1
    assert alerts.check_alerts(wh, FakeSettings(), now=NOW + timedelta(minutes=5)) == []
    assert len(alert_rows(wh)) == 1 and len(jobs(wh)) == 1


def test_good_quality_raises_nothing(wh):
    reviews(wh, 30, 2, 2, 2)
    assert alerts.check_alerts(wh, FakeSettings(), now=NOW) == []
    assert alert_rows(wh) == [] and jobs(wh) == []


def test_each_model_version_is_judged_separately(wh):
    reviews(wh, 20, 5, 5, 1, model_version="1.0.0")
    reviews(wh, 20, 1, 1, 1, model_version="1.1.0")
    new = alerts.check_alerts(wh, FakeSettings(), now=NOW)
    assert [a["model_version"] for a in new] == ["1.0.0"]


def test_several_metrics_share_one_queued_build(wh):
    reviews(wh, 20, 5, 5, 1)
    settings = FakeSettings(thresholds={"jaccard": 0.4, "f1": 0.5, "recall": 0.1})
    new = alerts.check_alerts(wh, settings, now=NOW)
    assert sorted(a["metric"] for a in new) == ["f1", "jaccard"]  # recall 0.2 >= 0.1
    assert len(jobs(wh)) == 1 and sum(a["job_id"] is not None for a in new) == 1


def test_a_build_already_queued_is_not_queued_again(wh):
    wh.execute(
        "INSERT INTO jobs (job_id, kind, status, params, created_at) VALUES "
        "('j0', 'build', 'queued', '{\"trigger\": \"taxonomy-update\"}', '2026-11-01T00:00:00')"
    )
    reviews(wh, 20, 5, 5, 1)
    [alert] = alerts.check_alerts(wh, FakeSettings(), now=NOW)
    assert alert["job_id"] is None and len(jobs(wh)) == 1


def test_a_running_build_does_not_block_queueing(wh):
    wh.execute(
        "INSERT INTO jobs (job_id, kind, status, created_at) VALUES "
        "('j0', 'build', 'running', '2026-11-01T00:00:00')"
    )
    reviews(wh, 20, 5, 5, 1)
    [alert] = alerts.check_alerts(wh, FakeSettings(), now=NOW)
    assert alert["job_id"] is not None and len(jobs(wh)) == 2


def test_acknowledged_alert_allows_a_new_one(wh):
    reviews(wh, 20, 5, 5, 1)
    [first] = alerts.check_alerts(wh, FakeSettings(), now=NOW)
    acked = alerts.acknowledge(wh, ADMIN, first["alert_id"])
    assert acked["status"] == "acknowledged" and alerts.open_alerts(wh) == []
    assert alerts.acknowledge(wh, ADMIN, first["alert_id"])["status"] == "acknowledged"
    assert len(audit.events(wh, action="alert.acknowledge")) == 1  # twice changes nothing
    [second] = alerts.check_alerts(wh, FakeSettings(), now=NOW)
    assert second["alert_id"] != first["alert_id"] and second["job_id"] is None  # build still queued


# -- boundaries ------------------------------------------------------------------------------------
def test_mean_exactly_at_the_threshold_does_not_alert(wh):
    reviews(wh, 23, 3, 4, 2)  # jaccard 2/5 = 0.40 each; the mean of 23 carries float noise
    assert alerts.check_alerts(wh, FakeSettings(), now=NOW) == []


def test_mean_just_below_the_threshold_alerts(wh):
    reviews(wh, 19, 3, 4, 2)  # 0.40 each
    reviews(wh, 1, 3, 4, 1, prefix="low")  # 0.1667: mean 0.3883
    assert len(alerts.check_alerts(wh, FakeSettings(), now=NOW)) == 1


@pytest.mark.parametrize("n, expected", [(19, 0), (20, 1)])
def test_min_reviews_boundary(wh, n, expected):
    reviews(wh, n, 5, 5, 0)
    assert len(alerts.check_alerts(wh, FakeSettings(alert_min_reviews=20), now=NOW)) == expected


def test_window_boundary_counts_reviews_exactly_window_days_old(wh):
    reviews(wh, 19, 5, 5, 0, end=NOW - timedelta(days=2))
    add_submission(wh, "edge", 5, 5, 0, at=NOW - timedelta(days=7))  # inside (inclusive)
    add_submission(wh, "old", 5, 5, 0, at=NOW - timedelta(days=7, seconds=1))  # outside
    [alert] = alerts.check_alerts(wh, FakeSettings(), now=NOW)
    assert alert["n_reviews"] == 20


def test_reviews_outside_the_window_are_ignored(wh):
    reviews(wh, 30, 5, 5, 0, end=NOW - timedelta(days=8))
    assert alerts.check_alerts(wh, FakeSettings(), now=NOW) == []


def test_unknown_metric_threshold_is_skipped_with_a_warning(wh, caplog):
    reviews(wh, 20, 5, 5, 0)
    with caplog.at_level(logging.WARNING, logger="mlops.services.alerts"):
        new = alerts.check_alerts(wh, FakeSettings(thresholds={"accuracy": 0.9}), now=NOW)
    assert new == [] and "unknown metric 'accuracy'" in caplog.text


# -- webhooks --------------------------------------------------------------------------------------
def test_webhook_receives_the_alert_as_json(wh, hook_factory):
    hook = hook_factory(200)
    reviews(wh, 20, 5, 5, 1)
    [alert] = alerts.check_alerts(wh, FakeSettings(webhook_url=hook.url), now=NOW)
    [body] = hook.bodies
    assert body["alert_id"] == alert["alert_id"] and body["metric"] == "jaccard"


def test_webhook_answering_500_is_logged_and_monitoring_goes_on(wh, hook_factory, caplog):
    hook = hook_factory(500)
    reviews(wh, 20, 5, 5, 1)
    with caplog.at_level(logging.WARNING, logger="mlops.services.alerts"):
        new = alerts.check_alerts(wh, FakeSettings(webhook_url=hook.url), now=NOW)
    assert len(new) == 1 and len(hook.bodies) == 1
    assert "webhook" in caplog.text and "500" in caplog.text
    assert len(alert_rows(wh)) == 1 and len(jobs(wh)) == 1  # saved despite the webhook


def test_webhook_timing_out_is_logged_and_monitoring_goes_on(wh, hook_factory, caplog):
    hook = hook_factory(200, delay=3.0)
    reviews(wh, 20, 5, 5, 1)
    with caplog.at_level(logging.WARNING, logger="mlops.services.alerts"):
        new = alerts.check_alerts(
            wh,
            FakeSettings(webhook_url=hook.url),
            now=NOW,
            notify=lambda url, p: alerts.post_webhook(url, p, timeout=0.3),
        )
    assert len(new) == 1 and "timed out" in caplog.text
    assert len(alert_rows(wh)) == 1


def test_unreachable_webhook_is_logged(wh, caplog):
    reviews(wh, 20, 5, 5, 1)
    with caplog.at_level(logging.WARNING, logger="mlops.services.alerts"):
        new = alerts.check_alerts(wh, FakeSettings(webhook_url="http://127.0.0.1:9/none"), now=NOW)
    assert len(new) == 1 and "webhook" in caplog.text


def test_no_webhook_call_without_new_alerts(wh, hook_factory):
    hook = hook_factory(200)
    reviews(wh, 20, 2, 2, 2)
    alerts.check_alerts(wh, FakeSettings(webhook_url=hook.url), now=NOW)
    assert hook.bodies == []


# -- acknowledgement -------------------------------------------------------------------------------
def test_only_admins_acknowledge(wh):
    reviews(wh, 20, 5, 5, 1)
    [alert] = alerts.check_alerts(wh, FakeSettings(), now=NOW)
    with pytest.raises(PermissionDenied, match="acknowledge alerts"):
        alerts.acknowledge(wh, REVIEWER, alert["alert_id"])
    assert len(alerts.open_alerts(wh)) == 1


def test_acknowledging_an_unknown_alert_is_refused(wh):
    with pytest.raises(alerts.AlertError, match="unknown alert nope"):
        alerts.acknowledge(wh, ADMIN, "nope")


# -- concurrency and the command -------------------------------------------------------------------
def test_concurrent_checks_raise_one_alert_and_one_build(tmp_path):
    url = f"sqlite:///{tmp_path}/w.db"
    setup = open_warehouse(url)
    setup.init_schema()
    reviews(setup, 20, 5, 5, 1)
    warehouses = [open_warehouse(url) for _ in range(6)]
    results, errors = run_at_once(lambda w: alerts.check_alerts(w, FakeSettings(), now=NOW), warehouses)
    assert errors == []
    assert sum(len(r) for r in results) == 1
    assert len(alert_rows(setup)) == 1 and len(jobs(setup)) == 1
    for w in warehouses + [setup]:
        w.close()


@pytest.fixture
def sea_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("SEA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SEA_HOME", str(tmp_path / "home"))
    return f"sqlite:///{tmp_path}/cli.db"


def test_monitor_command_prints_state_and_raises_alerts_once(sea_env, capsys):
    from mlops.domain.clock import utc

    wh = open_warehouse(sea_env)
    wh.init_schema()
    now = utc()
    reviews(wh, 20, 5, 5, 1, end=now)
    log_prediction(wh, "req", [], at=now, latency_ms=20.0)
    assert main(["monitor", "--json", "--warehouse", sea_env]) == 0
    state = json.loads(capsys.readouterr().out)
    assert len(state["new_alerts"]) == 1 and len(state["open_alerts"]) == 1
    assert state["usage"]["total"]["n_requests"] == 1
    assert state["versions"][0]["n_reviews"] == 20
    assert main(["monitor", "--warehouse", sea_env]) == 0
    text = capsys.readouterr().out
    assert "new alerts: 0" in text and "open alerts: 1" in text and "jaccard=0.111" in text
    assert len(alert_rows(wh)) == 1 and len(jobs(wh)) == 1
    wh.close()


def test_monitor_command_on_an_empty_configured_warehouse(sea_env, capsys):
    assert main(["monitor"]) == 0
    assert "no reviews" in capsys.readouterr().out


def test_monitor_command_rejects_bad_days(sea_env, capsys):
    assert main(["monitor", "--days", "0"]) == 1
    assert "--days must be at least 1" in capsys.readouterr().err


# -- functional: reviewers disagree with the model -------------------------------------------------
def test_thirty_reviewers_disagreeing_raise_one_alert_one_build_and_a_webhook(wh, hook_factory):
    taxonomy = small_taxonomy(40)
    hook = hook_factory(200)
    settings = FakeSettings(webhook_url=hook.url, alert_min_reviews=20)
    from mlops.services.identity import User

    for i in range(30):
        at = NOW - timedelta(days=i % 5, minutes=i)
        predicted = [f"s{i % 10}", f"s{(i + 1) % 10}", f"s{(i + 2) % 10}"]
        log_prediction(wh, f"req{i}", predicted, at=at, taxonomy=taxonomy)
        reviewer = User(f"reviewer{i}", frozenset({"reviewer"}))
        # each reviewer keeps one predicted skill, rejects two and adds two the model missed
        submit_feedback(
            wh,
            taxonomy,
            reviewer,
            f"req{i}",
            accepted=predicted[:1],
            rejected=predicted[1:],
            added=[f"s{20 + i % 10}", f"s{30 + i % 10}"],
            now=at,
        )
        if i in (10, 25):  # monitoring runs while reviews come in (like cron)
            alerts.check_alerts(wh, settings, now=at)
    for _ in range(3):
        alerts.check_alerts(wh, settings, now=NOW)
    [alert] = alert_rows(wh)
    # raised by the run at i == 25 (the first with >= 20 reviews in its window), never again
    assert 20 <= alert["n_reviews"] < 30 and alert["value"] == pytest.approx(1 / 5)
    assert jobs(wh) == [{"kind": "build", "status": "queued", "params": '{"trigger": "performance-drop"}'}]
    assert len(hook.bodies) == 1 and hook.bodies[0]["metric"] == "jaccard"


def test_the_queued_build_is_a_job_the_worker_can_claim(wh):
    from mlops.services import jobs as job_service

    reviews(wh, 20, 5, 5, 1)
    [alert] = alerts.check_alerts(wh, FakeSettings(), now=NOW)
    job = job_service.claim_next(wh, "worker-1", kinds=["build"])
    assert job.job_id == alert["job_id"] and job.params == {"trigger": "performance-drop"}
    # the build is running now, not queued: a new drop (after acknowledging) queues another
    alerts.acknowledge(wh, ADMIN, alert["alert_id"])
    [again] = alerts.check_alerts(wh, FakeSettings(), now=NOW)
    assert again["job_id"] not in (None, job.job_id)
