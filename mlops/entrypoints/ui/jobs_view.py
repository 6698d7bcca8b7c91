"""A live view of background jobs (progress bars refreshed by a Streamlit fragment). A running
job's bar reads what it is doing now (items evaluated, skills encoded, training steps), the
stage's estimated time left and how long the job has run."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from mlops.bootstrap import Bootstrap
from mlops.domain.clock import parse_timestamp
from mlops.domain.progress import format_elapsed
from mlops.services import jobs as job_service

REFRESH_S = 2.0


def progress_text(job: job_service.Job, now: datetime, highlight: str | None = None) -> str:
    """The label of an active job's bar: kind, status, time running, its message (which carries
    the stage's time left)."""
    started = parse_timestamp(job.started_at)
    parts = [job.kind, job.status]
    if job.status == "running" and started is not None:
        parts.append(format_elapsed((now - started).total_seconds()))
    if job.message:
        parts.append(job.message)
    return " · ".join(parts) + (" (just queued)" if job.job_id == highlight else "")


def show_jobs(
    ctx: Bootstrap, kinds: tuple[str, ...] | None = None, limit: int = 10, highlight: str | None = None
) -> None:
    """The newest jobs (of `kinds`) with their progress, refreshed every REFRESH_S seconds."""

    @st.fragment(run_every=REFRESH_S)
    def _live() -> None:
        jobs = job_service.list_jobs(ctx.warehouse, limit=limit * 3 if kinds else limit)
        if kinds:
            jobs = [job for job in jobs if job.kind in kinds][:limit]
        if not jobs:
            st.caption("No jobs yet.")
            return
        active = [job for job in jobs if job.status in ("queued", "running")]
        now = datetime.now(UTC)
        for job in active:
            st.progress(
                min(max(float(job.progress or 0.0), 0.0), 1.0), text=progress_text(job, now, highlight)
            )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "job": job.job_id[:12],
                        "kind": job.kind,
                        "status": job.status,
                        "progress": round(float(job.progress or 0.0) * 100),
                        "message": job.message,
                        "error": job.error or "",
                        "created_at": job.created_at,
                        "finished_at": job.finished_at,
                    }
                    for job in jobs
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "progress": st.column_config.ProgressColumn(
                    "progress", min_value=0, max_value=100, format="%d%%"
                )
            },
        )

    _live()
