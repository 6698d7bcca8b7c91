"""Queued builds on SageMaker Training (`SEA_BUILD_TARGET=sagemaker`): the worker submits the
build as a Training job running the project's image (`train`, the same build pipeline as a
local build) and watches it, passing SageMaker's status, progress and failure reason to the
job's progress and error. The Training job writes the registry itself, through the store and
the warehouse named in the job's settings, exactly as a local build does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlops.adapters.deploy.sagemaker_training import (
    SageMakerTraining,
    TrainingStatus,
    load_training_settings,
    training_job_name,
)
from mlops.config import Settings
from mlops.services import jobs
from mlops.services.build import JOB_KINDS, BuildError

if TYPE_CHECKING:
    from mlops.bootstrap import Bootstrap

#: Settings a build reads, passed to the Training job as `SEA_*` environment variables.
BUILD_SETTINGS = (
    "warehouse_url",
    "store_url",
    "s3_endpoint_url",
    "aws_region",
    "base_encoder",
    "taxonomy_path",
    "max_text_chars",
    "primary_metric",
    "promotion_margin",
)
DEFAULT_POLL_S = 30.0


def is_build_job(kind: str) -> bool:
    """True for the job kinds that run a model build (`build`, `reembed`, `skills-update`)."""
    return kind in JOB_KINDS


def job_environment(settings: Settings) -> dict[str, str]:
    """The Training job's `SEA_*` environment: the build settings of `settings`, local build
    target. BuildError when the job could not reach the warehouse or the store (local files)."""
    if not settings.store_url.startswith("s3://"):
        raise BuildError(
            f"a SageMaker build writes its model to the store: store_url must be s3://, got {settings.store_url!r}"
        )
    if settings.warehouse_url.startswith("sqlite:"):
        raise BuildError(
            "a SageMaker build reads reviews from the warehouse: warehouse_url must be a "
            "redshift:// or postgresql:// URL, not a local SQLite file"
        )
    environment = {"SEA_BUILD_TARGET": "local"}
    for name in BUILD_SETTINGS:
        value = getattr(settings, name)
        if value is not None and value != "":
            environment[f"SEA_{name.upper()}"] = str(value)
    for metric, threshold in settings.thresholds.items():
        environment[f"SEA_THRESHOLD_{metric.upper()}"] = str(threshold)
    return environment


def progress_message(status: TrainingStatus) -> str:
    """What the jobs view shows for a Training job status."""
    text = f"SageMaker training job {status.name}: {status.status} / {status.secondary_status}"
    return f"{text} - {status.message}" if status.message else text


def run_sagemaker_build(
    job: jobs.Job,
    progress: jobs.Progress,
    services: Bootstrap | None,
    *,
    make_session: Callable[[Settings], Any] | None = None,
    poll_s: float = DEFAULT_POLL_S,
) -> dict[str, Any]:
    """The `build` handler when builds run on SageMaker: submit, watch until done, and return
    the Training job's outcome; BuildError with SageMaker's failure reason when it did not
    complete. A job cancelled meanwhile stops the Training job."""
    if services is None:
        raise BuildError("a SageMaker build runs on the worker's services (python -m mlops worker)")
    settings = services.settings
    trigger = JOB_KINDS.get(job.kind) or (job.params or {}).get("trigger") or "manual"
    environment = job_environment(settings)
    training = load_training_settings()
    session = (make_session or _boto3_session)(settings)
    runner = SageMakerTraining(session, training, settings.store_url)
    name = training_job_name(job.job_id)
    progress(0.0, f"submitting SageMaker training job {name} on {training.instance_type}")
    arn = runner.submit(name, {"trigger": trigger, "job_id": job.job_id}, environment)

    def report(status: TrainingStatus) -> None:
        progress(status.fraction, progress_message(status))

    try:
        final = runner.watch(name, report, poll_s=poll_s)
    except jobs.JobCancelled:
        runner.stop(name)
        raise
    if final.status != "Completed":
        reason = final.failure_reason or final.message or "no reason given"
        raise BuildError(f"SageMaker training job {name} {final.status.lower()}: {reason}")
    return {
        "target": "sagemaker",
        "trigger": trigger,
        "training_job": name,
        "training_job_arn": arn,
        "instance_type": training.instance_type,
        "status": final.status,
    }


def _boto3_session(settings: Settings) -> Any:
    import boto3

    return boto3.Session(region_name=settings.aws_region)
