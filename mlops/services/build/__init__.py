"""The model build pipeline: `run_build(settings, warehouse, store, trigger, user, progress)`.

Importing this package registers the job handlers (when `mlops.services.jobs` is installed):
`build` (params `{"trigger": ...}`), and `reembed` / `skills-update` (a skills-update build).
"""
from __future__ import annotations

from typing import Any

from .config import BuildConfig, BuildConfigError, GateConfig, load_build_config
from .pipeline import TRIGGERS, BuildError, BuildResult, bump_kind, champion_record, run_build

__all__ = ["BuildConfig", "BuildConfigError", "BuildError", "BuildResult", "GateConfig", "TRIGGERS",
           "bump_kind", "champion_record", "load_build_config", "run_build", "run_build_job"]

#: Job kinds this package handles, with the trigger each runs (None: from the job's params).
JOB_KINDS: dict[str, str | None] = {"build": None, "reembed": "skills-update",
                                    "skills-update": "skills-update"}


def run_build_job(job: Any, progress: Any, trigger: str | None = None) -> dict[str, Any]:
    """Run a queued build job with the process's settings; the result as a dict. A failed gate
    raises BuildError (the job fails with the gate's reasons)."""
    from mlops.services import jobs
    from mlops.services.app_context import AppContext

    trigger = trigger or (job.params or {}).get("trigger") or "manual"
    context = AppContext()
    try:
        result = run_build(context.settings, context.warehouse, context.store, trigger,
                           progress=progress, scratch=jobs.scratch_dir(job.job_id))
    finally:
        context.close()
    if result.outcome == "gate-failed":
        raise BuildError("test gate failed: " + "; ".join(result.gate.get("reasons", [])))
    return {k: v for k, v in result.to_dict().items() if k not in ("candidates",)}


def _register_handlers() -> None:
    try:
        from mlops.services import jobs
    except ImportError:
        return
    for kind, trigger in JOB_KINDS.items():
        jobs.register_handler(kind, lambda job, progress, _t=trigger: run_build_job(job, progress, _t))


_register_handlers()
