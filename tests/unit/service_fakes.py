"""Helpers for the services' unit tests: in-memory repositories and rows written through them."""
from __future__ import annotations

from datetime import datetime

from mlops.adapters.warehouse.feedback import Score, Submission
from mlops.adapters.warehouse.predictions import LoggedRequest, LoggedSkill
from mlops.domain.clock import day_of, timestamp, week_of
from tests.unit.monitoring_rows import T0


def logged(repos, request_id: str, skills: list[str], *, model_version: str = "1.0.0",
           stage: str = "prod", at: datetime = T0, status: str = "ok", text: str | None = None) -> None:
    """One logged request with its predicted skills (ranked in the given order)."""
    text = text if text is not None else f"text of {request_id}"
    repos.predictions.replace(
        LoggedRequest(request_id, model_version, stage, timestamp(at), day_of(at), week_of(at), text,
                      len(text), 50.0, status, None if status == "ok" else "boom"),
        [LoggedSkill(rank, skill_id, f"title {skill_id}", "skill", 0.9, f"phrase {skill_id}", 1, "[]", None)
         for rank, skill_id in enumerate(skills, start=1)])


def submitted(repos, request_id: str, n_predicted: int, n_confirmed: int, n_overlap: int, *,
              model_version: str = "1.0.0", at: datetime = T0) -> None:
    """A review with the given counts and its prediction's score (for metric-only tests)."""
    head = (timestamp(at), day_of(at), week_of(at))
    repos.feedback.replace(
        Submission(request_id, "rita", model_version, *head, n_predicted, n_confirmed, n_overlap),
        [Score(request_id, model_version, "rita", *head, n_predicted, n_confirmed, n_overlap)])
