"""Test helpers for feedback/monitoring/alerts: a small taxonomy and prediction rows written
straight into `prediction_requests` / `prediction_skills` (independent of the prediction log)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mlops.domain.clock import day_of, timestamp, week_of
from mlops.services.identity import User
from sea_core.taxonomy import Skill, Taxonomy

REVIEWER = User("rita", frozenset({"reviewer"}))
ADMIN = User("ada", frozenset({"admin"}))
STAKEHOLDER = User("sam", frozenset({"stakeholder"}))
T0 = datetime(2026, 11, 2, 9, 0, 0)  # a Monday


def small_taxonomy(n: int = 12) -> Taxonomy:
    """Skills s0..s{n-1}, each with a title, one alternative label and a description."""
    return Taxonomy(
        [
            Skill(
                title=f"skill number {i}",
                skill_id=f"s{i}",
                alt_labels=(f"alt label {i}",),
                description=f"the description of skill {i}",
            )
            for i in range(n)
        ],
        version="test",
    )


def log_prediction(
    wh,
    request_id: str,
    skills: list[str],
    *,
    model_version: str = "1.0.0",
    stage: str = "prod",
    at: datetime = T0,
    text: str | None = None,
    latency_ms: float | None = 50.0,
    status: str = "ok",
    taxonomy: Taxonomy | None = None,
) -> None:
    """One logged request and its predicted skills (ranked in the given order)."""
    text = text if text is not None else f"text of {request_id}"
    confidences = [0.9 - rank / 100 for rank in range(1, len(skills) + 1)]
    wh.execute(
        "INSERT INTO prediction_requests (request_id, model_version, stage, created_at, day, week, "
        "original_input, input_chars, latency_ms, status, error, lowest_confidence) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            request_id,
            model_version,
            stage,
            timestamp(at),
            day_of(at),
            week_of(at),
            text,
            len(text),
            latency_ms,
            status,
            None if status == "ok" else "boom",
            min(confidences, default=None),
        ),
    )
    rows = []
    for rank, skill_id in enumerate(skills, start=1):
        skill = taxonomy.get(skill_id) if taxonomy is not None else None
        rows.append(
            (
                request_id,
                model_version,
                rank,
                skill_id,
                skill.title if skill else f"title {skill_id}",
                "skill",
                confidences[rank - 1],
                f"phrase {skill_id} in {request_id}",
                1,
                "[]",
                None,
            )
        )
    if rows:
        wh.executemany(
            "INSERT INTO prediction_skills (request_id, model_version, rank, skill_id, skill_title, "
            "skill_type, confidence, phrase, occurrence, tags, proficiency_level) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def add_submission(
    wh,
    request_id: str,
    n_predicted: int,
    n_confirmed: int,
    n_overlap: int,
    *,
    model_version: str = "1.0.0",
    at: datetime = T0,
    reviewer: str = "rita",
) -> None:
    """A review (`feedback_submissions`) with the given counts and its prediction's score
    (`prediction_scores`), for metric-only tests."""
    row = (
        request_id,
        reviewer,
        model_version,
        timestamp(at),
        day_of(at),
        week_of(at),
        n_predicted,
        n_confirmed,
        n_overlap,
    )
    wh.execute(
        "INSERT INTO feedback_submissions (request_id, reviewer, model_version, submitted_at, day, "
        "week, n_predicted, n_confirmed, n_overlap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        row,
    )
    wh.execute(
        "INSERT INTO prediction_scores (request_id, reviewer, model_version, scored_at, day, "
        "week, n_predicted, n_confirmed, n_overlap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        row,
    )


@dataclass
class FakeSettings:
    """The alert-related fields of `mlops.config.Settings`."""

    thresholds: dict = field(default_factory=lambda: {"jaccard": 0.40})
    alert_window_days: int = 7
    alert_min_reviews: int = 20
    webhook_url: str | None = None


def reviews(
    wh,
    n: int,
    n_predicted: int,
    n_confirmed: int,
    n_overlap: int,
    *,
    model_version: str = "1.0.0",
    end: datetime = T0,
    prefix: str = "r",
) -> None:
    """`n` submissions with the same counts, one minute apart, ending at `end`."""
    for i in range(n):
        add_submission(
            wh,
            f"{prefix}{model_version}-{i}",
            n_predicted,
            n_confirmed,
            n_overlap,
            model_version=model_version,
            at=end - timedelta(minutes=i),
        )
