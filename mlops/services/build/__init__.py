"""The model build pipeline: `run_build(settings, warehouse, store, trigger, user, progress)`.

Importing this package registers the job handlers: `build` (params `{"trigger": ...}`), and
`reembed` / `skills-update` (a skills-update build). A handler runs on the worker's composition
root (`mlops.bootstrap.Bootstrap`), the third argument every job handler gets.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from mlops.services import jobs

from .config import BuildConfig, BuildConfigError, GateConfig, load_build_config
from .pipeline import TRIGGERS, BuildError, BuildResult, bump_kind, champion_record, run_build

if TYPE_CHECKING:
    from mlops.bootstrap import Bootstrap

__all__ = [
    "BuildConfig",
    "BuildConfigError",
    "BuildError",
    "BuildResult",
    "GateConfig",
    "TRIGGERS",
    "bump_kind",
    "champion_record",
    "load_build_config",
    "run_build",
    "run_build_job",
]

#: Job kinds this package handles, with the trigger each runs (None: from the job's params).
JOB_KINDS: dict[str, str | None] = {
    "build": None,
    "reembed": "skills-update",
    "skills-update": "skills-update",
}


def run_build_job(
    job: jobs.Job, progress: jobs.Progress, services: Bootstrap | None, trigger: str | None = None
) -> dict[str, Any]:
    """Run a queued build job on the worker's warehouse, store and deploy target; the result
    as a dict. A failed gate raises BuildError (the job fails with the gate's reasons)."""
    if services is None:
        raise BuildError(
            "a build job runs on the worker's services: start the worker with "
            "Worker(warehouse, services=Bootstrap(...)) (python -m mlops worker does)"
        )
    trigger = trigger or (job.params or {}).get("trigger") or "manual"
    result = run_build(
        services.settings,
        services.warehouse,
        services.store,
        trigger,
        progress=progress,
        deploy_target=services.deploy_target,
        scratch=jobs.scratch_dir(job.job_id),
    )
    if result.outcome == "gate-failed":
        raise BuildError("test gate failed: " + "; ".join(result.gate.get("reasons", [])))
    return {k: v for k, v in result.to_dict().items() if k not in ("candidates",)}


for _kind, _trigger in JOB_KINDS.items():
    jobs.register_handler(_kind, partial(run_build_job, trigger=_trigger))
