"""Builds as SageMaker Training jobs: the project's container runs `train` (the same build
pipeline as a local build, with the job's settings) on the instance type in
`deploy/build-config.json`; this module creates, describes and stops such jobs through boto3.

Config file (the production team's format, numbers may be strings):
`{"Parameters": {"TrainingInstanceType": "ml.g5.xlarge", "TrainingInstanceCount": "1",
"VolumeSizeInGB": "50", "MaxRuntimeInSeconds": "14400", "RoleArn": "arn:aws:iam::...:role/...",
"ImageUri": "<account>.dkr.ecr.<region>.amazonaws.com/sea:latest"}}`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.adapters.deploy.base import DeployError
from mlops.adapters.deploy.sagemaker import (
    DEFAULT_CONFIG_DIR,
    DeployConfigError,
    _integer,
    _resource_name,
    instance_type,
    read_parameters,
)

BUILD_CONFIG_FILE = "build-config.json"
REQUIRED_KEYS = (
    "TrainingInstanceType",
    "TrainingInstanceCount",
    "VolumeSizeInGB",
    "MaxRuntimeInSeconds",
    "RoleArn",
    "ImageUri",
)
#: TrainingJobStatus values after which a job changes no more.
FINAL_STATUSES = ("Completed", "Failed", "Stopped")
#: SecondaryStatus -> the share of the job done when SageMaker reports it (the build itself
#: runs during `Training`).
SECONDARY_PROGRESS = {
    "Starting": 0.02,
    "Pending": 0.02,
    "LaunchingMLInstances": 0.05,
    "PreparingTrainingStack": 0.08,
    "Downloading": 0.10,
    "DownloadingTrainingImage": 0.12,
    "Training": 0.15,
    "Uploading": 0.95,
    "Stopping": 0.95,
    "Completed": 1.0,
    "Failed": 1.0,
    "Stopped": 1.0,
    "MaxRuntimeExceeded": 1.0,
    "Interrupted": 1.0,
}


@dataclass(frozen=True)
class TrainingSettings:
    """What a build job runs on, read from `deploy/build-config.json`."""

    instance_type: str
    instance_count: int
    volume_gb: int
    max_runtime_s: int
    role_arn: str
    image_uri: str


@dataclass(frozen=True)
class TrainingStatus:
    """One DescribeTrainingJob answer, reduced to what the jobs view shows."""

    name: str
    status: str
    secondary_status: str
    message: str = ""
    failure_reason: str = ""

    @property
    def finished(self) -> bool:
        """True once the job can change no more (Completed, Failed or Stopped)."""
        return self.status in FINAL_STATUSES

    @property
    def fraction(self) -> float:
        """The share of the job done, from its secondary status (unknown ones: 0)."""
        return 1.0 if self.finished else SECONDARY_PROGRESS.get(self.secondary_status, 0.0)


def load_training_settings(config_dir: str | Path = DEFAULT_CONFIG_DIR) -> TrainingSettings:
    """Read and check `<config_dir>/build-config.json`; DeployConfigError names the file and key."""
    path = Path(config_dir) / BUILD_CONFIG_FILE
    params = read_parameters(path, "build config for SageMaker Training", REQUIRED_KEYS)
    role_arn = params["RoleArn"]
    if not isinstance(role_arn, str) or not role_arn.strip().startswith("arn:"):
        raise DeployConfigError(f"{path}: Parameters.RoleArn must be an IAM role ARN, got {role_arn!r}")
    image_uri = params["ImageUri"]
    if not isinstance(image_uri, str) or not image_uri.strip():
        raise DeployConfigError(f"{path}: Parameters.ImageUri must name the SEA image, got {image_uri!r}")
    return TrainingSettings(
        instance_type=instance_type(path, "TrainingInstanceType", params["TrainingInstanceType"]),
        instance_count=_integer(path, "TrainingInstanceCount", params["TrainingInstanceCount"], 1, None),
        volume_gb=_integer(path, "VolumeSizeInGB", params["VolumeSizeInGB"], 1, None),
        max_runtime_s=_integer(path, "MaxRuntimeInSeconds", params["MaxRuntimeInSeconds"], 1, None),
        role_arn=role_arn.strip(),
        image_uri=image_uri.strip(),
    )


def training_job_name(job_id: str, name_prefix: str = "sea") -> str:
    """The Training job's name for a queued job: `sea-build-<job id>` (at most 63 characters)."""
    return _resource_name(name_prefix, "build", job_id)


class SageMakerTraining:
    """Creates, watches and stops SageMaker Training jobs that run the SEA image's `train`."""

    def __init__(self, session: Any, settings: TrainingSettings, output_root: str) -> None:
        """`session`: a boto3 Session; `output_root`: the store's S3 URL (`s3://bucket/prefix`),
        under which SageMaker puts the job's output (the build itself writes the store)."""
        if not output_root.startswith("s3://"):
            raise DeployError(
                f"SageMaker Training writes to S3: the output root must be s3://, got {output_root!r}"
            )
        self.client = session.client("sagemaker")
        self.settings = settings
        self.output_root = output_root.rstrip("/")

    def submit(self, name: str, hyperparameters: Mapping[str, str], environment: Mapping[str, str]) -> str:
        """Create the Training job `name`; returns its ARN. DeployError when SageMaker refuses."""
        from botocore.exceptions import BotoCoreError, ClientError

        settings = self.settings
        try:
            answer = self.client.create_training_job(
                TrainingJobName=name,
                AlgorithmSpecification={"TrainingImage": settings.image_uri, "TrainingInputMode": "File"},
                RoleArn=settings.role_arn,
                HyperParameters=dict(hyperparameters),
                Environment=dict(environment),
                OutputDataConfig={"S3OutputPath": f"{self.output_root}/training-jobs/"},
                ResourceConfig={
                    "InstanceType": settings.instance_type,
                    "InstanceCount": settings.instance_count,
                    "VolumeSizeInGB": settings.volume_gb,
                },
                StoppingCondition={"MaxRuntimeInSeconds": settings.max_runtime_s},
            )
        except (ClientError, BotoCoreError) as exc:
            raise DeployError(f"SageMaker refused the training job {name}: {exc}") from exc
        return str(answer["TrainingJobArn"])

    def describe(self, name: str) -> TrainingStatus:
        """The job's status now."""
        answer = self.client.describe_training_job(TrainingJobName=name)
        transitions = answer.get("SecondaryStatusTransitions") or []
        return TrainingStatus(
            name=name,
            status=str(answer.get("TrainingJobStatus", "")),
            secondary_status=str(answer.get("SecondaryStatus", "")),
            message=str(transitions[-1].get("StatusMessage", "")) if transitions else "",
            failure_reason=str(answer.get("FailureReason", "")),
        )

    def stop(self, name: str) -> None:
        """Ask SageMaker to stop the job (it ends as Stopped)."""
        self.client.stop_training_job(TrainingJobName=name)

    def watch(
        self,
        name: str,
        on_status: Callable[[TrainingStatus], None],
        poll_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> TrainingStatus:
        """Describe the job every `poll_s` seconds, calling `on_status` with each answer, until it
        is Completed, Failed or Stopped; returns the last answer."""
        while True:
            status = self.describe(name)
            on_status(status)
            if status.finished:
                return status
            sleep(poll_s)
