"""A live view of background jobs (progress bars refreshed by a Streamlit fragment)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlops.bootstrap import Bootstrap
from mlops.services import jobs as job_service

REFRESH_S = 2.0


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
        for job in active:
            mark = " (just queued)" if job.job_id == highlight else ""
            st.progress(
                min(max(float(job.progress or 0.0), 0.0), 1.0),
                text=f"{job.kind} · {job.status} · {job.message or ''}{mark}",
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
