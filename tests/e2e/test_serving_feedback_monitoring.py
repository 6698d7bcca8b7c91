"""End to end over real HTTP: serve a model, send texts, reviewers disagree with it, monitoring
shows the metrics and raises one alert that queues one retraining build."""

from __future__ import annotations

import requests

from mlops.adapters.store import open_store
from mlops.adapters.warehouse import open_warehouse
from mlops.config import load_settings
from mlops.services import alerts, jobs, monitoring
from mlops.services.feedback import submit_feedback
from mlops.services.identity import User
from mlops.services.prediction_log import PredictionLog
from sea_core.bundle import load_bundle
from tests.integration.serving_support import make_bundle, running_server, small_taxonomy

TEXTS = [
    f"Role {i}: python programming, sql databases and team leadership for project {i}." for i in range(24)
]


def test_served_predictions_reviewed_and_monitored(tmp_path, tiny_sentence_encoder_dir):
    settings = load_settings(
        env={"SEA_HOME": str(tmp_path / "home"), "SEA_ALERT_MIN_REVIEWS": "20"},
        secrets_path=tmp_path / "none.toml",
    )
    warehouse = open_warehouse(settings.warehouse_url)
    warehouse.init_schema()
    store = open_store(settings.store_url)
    log = PredictionLog(warehouse, store, tmp_path / "queue", background=False)
    pipeline = load_bundle(make_bundle(tmp_path / "bundle", tiny_sentence_encoder_dir, "2.0.0"))
    taxonomy = small_taxonomy()

    with running_server(pipeline, stage="prod", prediction_log=log) as server:
        assert requests.get(server.url + "/ping", timeout=30).json()["model_version"] == "2.0.0"
        records = [
            requests.post(
                server.url + "/invocations", json={"text": t, "min_confidence": 0, "top_k": 3}, timeout=60
            ).json()
            for t in TEXTS
        ]
    log.flush()
    assert warehouse.scalar("SELECT COUNT(*) FROM prediction_requests") == len(TEXTS)
    assert store.list("prediction_logs/"), "the JSON-lines archive was written"

    reviewer = User("rita", frozenset({"reviewer"}))
    customer_service = next(s.skill_id for s in taxonomy if s.title == "customer service")
    for record in records[:22]:  # reviewers reject everything and add a skill the model missed
        predicted = [s["skill_id"] for s in record["skillExtractOutput"] if s["skill_id"] != customer_service]
        submit_feedback(
            warehouse,
            taxonomy,
            reviewer,
            record["requestId"],
            accepted=[],
            rejected=predicted,
            added=[customer_service],
        )

    quality = monitoring.quality_over_time(warehouse, "day")
    assert [row["n_reviews"] for row in quality] == [22]
    assert quality[0]["model_version"] == "2.0.0" and quality[0]["jaccard"] == 0.0

    raised = alerts.check_alerts(warehouse, settings, notify=lambda url, payload: None)
    assert [a["metric"] for a in raised] == ["jaccard"]
    assert alerts.check_alerts(warehouse, settings, notify=lambda url, payload: None) == []
    queued = jobs.list_jobs(warehouse, status=jobs.QUEUED)
    assert len(queued) == 1 and queued[0].params.get("trigger") == "performance-drop"
    assert len(alerts.open_alerts(warehouse)) == 1
    log.close()
    warehouse.close()
