"""Quality alerts: a metric below its threshold over the rolling review window raises an alert
once, queues one retraining build, and notifies a webhook.

For each metric in `settings.thresholds` and each model version reviewed in the last
`settings.alert_window_days`, with at least `settings.alert_min_reviews` reviews, a mean strictly
below the threshold (equal does not alert; compared at 9 decimals, so float noise in the mean
of values exactly at the threshold does not alert either) records an alert, unless an open
alert for that metric and model version exists. The check and the inserts run in one locked transaction, so concurrent `monitor` runs
(cron overlaps) never duplicate an alert or a queued build. The webhook is posted after the
commit; a failing webhook is logged and never stops monitoring.
"""

from __future__ import annotations

import json
import logging
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mlops.adapters.warehouse.repositories import Repositories, Source, repositories
from mlops.domain.clock import timestamp, utc
from mlops.services import audit, jobs
from mlops.services.identity import User, require_role, system_user
from mlops.services.monitoring import METRICS

log = logging.getLogger(__name__)

OPEN, ACKNOWLEDGED = "open", "acknowledged"
BUILD_KIND, BUILD_TRIGGER = "build", "performance-drop"
WEBHOOK_TIMEOUT_S = 5.0
#: Alert checks are serialised on `alerts`, and queueing against `jobs.enqueue` on `jobs`.
LOCKS = ("alerts", jobs.LOCK)


class AlertError(ValueError):
    """An alert action was refused (unknown alert id)."""


def post_webhook(url: str, payload: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT_S) -> None:
    """POST `payload` as JSON; raises on a connection failure, a timeout or a non-2xx status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, sort_keys=True).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "sea-monitor"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # configured URL
        if not 200 <= response.status < 300:
            raise OSError(f"webhook answered HTTP {response.status}")


def queue_build(tx: Repositories, actor: User, params: dict[str, Any]) -> str | None:
    """Queue a build job (`jobs.enqueue`) inside the caller's locked transaction unless a build
    is already queued (one pending at a time); returns the new job id or None."""
    if tx.jobs.queued([BUILD_KIND]):
        return None
    return jobs.enqueue(
        tx, BUILD_KIND, params, actor, message=f"queued by {actor.username}: quality below threshold"
    )


def check_alerts(
    warehouse: Source,
    settings: Any,
    now: datetime | None = None,
    notify: Callable[[str, dict[str, Any]], Any] | None = post_webhook,
) -> list[dict[str, Any]]:
    """Raise the alerts due now; returns the new ones (each with `job_id`: the build it queued,
    or None when a build was already queued). Idempotent and safe to run concurrently."""
    end = utc(now)
    window_end = timestamp(end)
    window_start = timestamp(end - timedelta(days=settings.alert_window_days))
    thresholds = {}
    for metric, threshold in settings.thresholds.items():
        if metric not in METRICS:
            log.warning("threshold for unknown metric %r ignored (known: %s)", metric, ", ".join(METRICS))
        else:
            thresholds[metric] = float(threshold)
    system = system_user()
    actor = system.username
    new: list[dict[str, Any]] = []
    with repositories(warehouse).transaction(*LOCKS) as tx:
        for row in tx.monitoring.window_quality(window_start, window_end):
            if row["n_reviews"] < settings.alert_min_reviews:
                continue
            for metric, threshold in sorted(thresholds.items()):
                value = row[metric]
                # rounded: a mean of values exactly at the threshold must not alert on float noise
                if value is None or not round(value, 9) < threshold:
                    continue
                if tx.alerts.exists(metric, row["model_version"], OPEN):
                    continue
                alert = {
                    "alert_id": uuid.uuid4().hex,
                    "metric": metric,
                    "value": value,
                    "threshold": threshold,
                    "window_start": window_start,
                    "window_end": window_end,
                    "n_reviews": row["n_reviews"],
                    "model_version": row["model_version"],
                    "status": OPEN,
                    "created_at": window_end,
                    "message": (
                        f"{metric} of model {row['model_version']} is {value:.3f}, below "
                        f"{threshold:.2f}, over {row['n_reviews']} reviews in the last "
                        f"{settings.alert_window_days} days"
                    ),
                }
                tx.alerts.add(alert)
                audit.record(
                    tx,
                    actor,
                    "alert.raise",
                    alert["alert_id"],
                    {k: alert[k] for k in ("metric", "value", "threshold", "n_reviews", "model_version")},
                )
                alert["job_id"] = queue_build(tx, system, {"trigger": BUILD_TRIGGER})
                new.append(alert)
    if new and settings.webhook_url and notify is not None:
        for alert in new:
            try:
                notify(settings.webhook_url, {"event": "sea.alert", **alert})
            except Exception as exc:  # a webhook failure must not stop monitoring
                log.warning(
                    "alert webhook %s failed for alert %s: %s", settings.webhook_url, alert["alert_id"], exc
                )
    for alert in new:
        log.warning("ALERT %s", alert["message"])
    return new


def open_alerts(warehouse: Source) -> list[dict[str, Any]]:
    """Open alerts, newest first."""
    return repositories(warehouse).alerts.with_status(OPEN)


def acknowledge(warehouse: Source, user: User | None, alert_id: str) -> dict[str, Any]:
    """Mark an alert acknowledged (admin only; audited); acknowledging twice changes nothing.
    A metric still below its threshold raises a new alert on a later check."""
    admin = require_role(user, "admin", action="acknowledge alerts", source=warehouse).username
    with repositories(warehouse).transaction() as tx:
        row = tx.alerts.get(alert_id)
        if row is None:
            raise AlertError(f"unknown alert {alert_id}")
        if row["status"] != ACKNOWLEDGED:
            tx.alerts.set_status(alert_id, ACKNOWLEDGED)
            audit.record(
                tx,
                admin,
                "alert.acknowledge",
                alert_id,
                {"metric": row["metric"], "model_version": row["model_version"]},
            )
            row["status"] = ACKNOWLEDGED
    return row
