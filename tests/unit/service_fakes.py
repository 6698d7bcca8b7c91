"""Helpers for the services' unit tests: in-memory repositories and rows written through them."""

from __future__ import annotations

from datetime import datetime

from mlops.adapters.warehouse.feedback import Score, Submission
from mlops.adapters.warehouse.predictions import LoggedRequest, LoggedSkill
from mlops.domain.clock import day_of, timestamp, week_of
from mlops.services.prediction_log import write_prediction
from sea_core.pipeline import request_id_for
from tests.unit.monitoring_rows import T0


def logged(
    repos,
    request_id: str,
    skills: list[str],
    *,
    model_version: str = "1.0.0",
    stage: str = "prod",
    at: datetime = T0,
    status: str = "ok",
    text: str | None = None,
) -> None:
    """One logged request with its predicted skills (ranked in the given order)."""
    text = text if text is not None else f"text of {request_id}"
    repos.predictions.replace(
        LoggedRequest(
            request_id,
            model_version,
            stage,
            timestamp(at),
            day_of(at),
            week_of(at),
            text,
            len(text),
            50.0,
            status,
            None if status == "ok" else "boom",
        ),
        [
            LoggedSkill(
                rank, skill_id, f"title {skill_id}", "skill", 0.9, f"phrase {skill_id}", 1, "[]", None
            )
            for rank, skill_id in enumerate(skills, start=1)
        ],
    )


def submitted(
    repos,
    request_id: str,
    n_predicted: int,
    n_confirmed: int,
    n_overlap: int,
    *,
    model_version: str = "1.0.0",
    at: datetime = T0,
) -> None:
    """A review with the given counts and its prediction's score (for metric-only tests)."""
    head = (timestamp(at), day_of(at), week_of(at))
    repos.feedback.replace(
        Submission(request_id, "rita", model_version, *head, n_predicted, n_confirmed, n_overlap),
        [Score(request_id, model_version, "rita", *head, n_predicted, n_confirmed, n_overlap)],
    )


def served(
    source,
    text: str,
    version: str,
    skills: dict[str, float],
    *,
    at: datetime = T0,
    stage: str = "prod",
    status: str = "ok",
) -> str:
    """Log one prediction in the production log format through the prediction log's writer (a
    warehouse or in-memory repositories); returns its requestId."""
    record = {
        "modelVersion": version,
        "timestamp": at.isoformat(),
        "requestId": request_id_for(text),
        "original_input": text,
        "skillExtractOutput": [
            {
                "skill_id": s,
                "skillTitle": f"skill {s}",
                "confidenceScore": c,
                "phrase": f"phrase {s}",
                "skillTags": [],
            }
            for s, c in skills.items()
        ],
    }
    write_prediction(
        source,
        {
            "record": record,
            "stage": stage,
            "latency_ms": 5.0,
            "status": status,
            "error": None if status == "ok" else "boom",
        },
    )
    return record["requestId"]
