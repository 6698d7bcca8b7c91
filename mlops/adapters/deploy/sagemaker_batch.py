"""Bulk extraction past one machine: a SageMaker Batch Transform job on the serving container.

The job runs the model behind a stage's endpoint (the SageMaker Model that
`mlops.adapters.deploy.sagemaker.SageMakerTarget` created; or `ModelName` from the config) over
every object under an S3 prefix of JSON lines: `ContentType application/jsonlines`,
`SplitType Line`, `BatchStrategy MultiRecord` (several lines per `/invocations` body, which the
server answers line for line, `mlops.entrypoints.jsonlines`), `AssembleWith Line`; each input
object `x` gives the output object `x.out`.

Config file (`deploy/batch-config.json`; numbers may be strings, as in the other deploy files):
`{"Parameters": {"StageName": "prod", "ModelName": "", "TransformInstanceType": "ml.m5.xlarge",
"TransformInstanceCount": "2", "MaxPayloadInMB": "6", "MaxConcurrentTransforms": "1",
"BatchStrategy": "MultiRecord", "InputS3Uri": "s3://...", "OutputS3Uri": "s3://..."}}`.
`MaxPayloadInMB` must fit the server's body limit (6 MiB by default); one transform per
instance is what the server does well (`MaxConcurrentTransforms` 1: it predicts one request at a
time and torch already uses every core).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops.adapters.deploy.base import DeployError
from mlops.adapters.deploy.sagemaker import (
    DEFAULT_CONFIG_DIR,
    DeployConfigError,
    _integer,
    _resource_name,
    read_parameters,
)
from mlops.domain.stages import Stage

BATCH_CONFIG = "batch-config.json"
DEFAULT_BATCH_CONFIG = DEFAULT_CONFIG_DIR / BATCH_CONFIG
REQUIRED_KEYS = (
    "StageName",
    "TransformInstanceType",
    "TransformInstanceCount",
    "MaxPayloadInMB",
    "InputS3Uri",
    "OutputS3Uri",
)
MAX_PAYLOAD_MB = 100  # SageMaker's limit for Batch Transform
CONTENT_TYPE = "application/jsonlines"
TERMINAL = ("Completed", "Failed", "Stopped")


class TransformError(DeployError):
    """A transform job that could not be created or did not complete; the message says why."""


@dataclass(frozen=True)
class TransformSettings:
    """A Batch Transform job's parameters, read from the config file."""

    stage: Stage
    model_name: str  # empty: the model behind the stage's endpoint
    instance_type: str
    instance_count: int
    max_payload_mb: int
    max_concurrent: int
    batch_strategy: str
    input_uri: str
    output_uri: str


@dataclass(frozen=True)
class TransformOutcome:
    """How a job ended (or stands, when not waited for)."""

    job_name: str
    status: str
    model_name: str
    input_uri: str
    output_uri: str
    failure_reason: str = ""
    seconds: float = 0.0


def _s3_uri(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,62}(/.*)?", value.strip()):
        raise DeployConfigError(f"{path}: Parameters.{key} must be an s3://bucket/prefix URL, got {value!r}")
    return value.strip()


def load_transform_settings(
    path: str | Path = DEFAULT_BATCH_CONFIG, input_uri: str | None = None, output_uri: str | None = None
) -> TransformSettings:
    """Read and check the config file; `input_uri` / `output_uri` replace its S3 locations.
    DeployConfigError names the file and the key."""
    path = Path(path)
    params = read_parameters(path, "Batch Transform config")
    params = {**params, **{k: v for k, v in (("InputS3Uri", input_uri), ("OutputS3Uri", output_uri)) if v}}
    missing = [key for key in REQUIRED_KEYS if not str(params.get(key) or "").strip()]
    if missing:
        raise DeployConfigError(
            f"{path}: Parameters.{missing[0]} is missing (required: {', '.join(REQUIRED_KEYS)})"
        )
    instance_type = str(params["TransformInstanceType"]).strip()
    if not re.fullmatch(r"ml\.[a-z0-9]+\.[a-z0-9]+", instance_type):
        raise DeployConfigError(
            f"{path}: Parameters.TransformInstanceType must be a SageMaker instance type like "
            f"'ml.m5.xlarge', got {params['TransformInstanceType']!r}"
        )
    strategy = str(params.get("BatchStrategy") or "MultiRecord").strip()
    if strategy not in ("MultiRecord", "SingleRecord"):
        raise DeployConfigError(
            f"{path}: Parameters.BatchStrategy must be MultiRecord or SingleRecord, got {strategy!r}"
        )
    return TransformSettings(
        stage=Stage.parse(str(params["StageName"]).strip(), DeployConfigError),
        model_name=str(params.get("ModelName") or "").strip(),
        instance_type=instance_type,
        instance_count=_integer(path, "TransformInstanceCount", params["TransformInstanceCount"], 1, None),
        max_payload_mb=_integer(path, "MaxPayloadInMB", params["MaxPayloadInMB"], 1, MAX_PAYLOAD_MB),
        max_concurrent=_integer(
            path, "MaxConcurrentTransforms", params.get("MaxConcurrentTransforms", 1), 1, None
        ),
        batch_strategy=strategy,
        input_uri=_s3_uri(path, "InputS3Uri", params["InputS3Uri"]),
        output_uri=_s3_uri(path, "OutputS3Uri", params["OutputS3Uri"]),
    )


class BatchTransform:
    """Creates and watches Batch Transform jobs named `<name_prefix>-batch-<stage>-<time>`."""

    def __init__(self, client: Any, name_prefix: str = "sea") -> None:
        """`client`: a boto3 SageMaker client."""
        self.client = client
        self.name_prefix = name_prefix

    def stage_model(self, stage: Stage) -> str:
        """The SageMaker Model the stage's endpoint serves (its first production variant's)."""
        from botocore.exceptions import BotoCoreError, ClientError

        endpoint = _resource_name(self.name_prefix, stage.value)
        try:
            config = self.client.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
            variants = self.client.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
        except (ClientError, BotoCoreError) as exc:
            raise TransformError(
                f"no model to run: the {stage.label} endpoint {endpoint} cannot be read ({exc}); "
                f"deploy to it or set ModelName in {BATCH_CONFIG}"
            ) from exc
        return str(variants[0]["ModelName"])

    def start(self, settings: TransformSettings) -> TransformOutcome:
        """Create the job; returns its name and first status."""
        from botocore.exceptions import BotoCoreError, ClientError

        model = settings.model_name or self.stage_model(settings.stage)
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        name = _resource_name(self.name_prefix, "batch", settings.stage.value, stamp)
        try:
            self.client.create_transform_job(
                TransformJobName=name,
                ModelName=model,
                MaxConcurrentTransforms=settings.max_concurrent,
                MaxPayloadInMB=settings.max_payload_mb,
                BatchStrategy=settings.batch_strategy,
                TransformInput={
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": settings.input_uri}},
                    "ContentType": CONTENT_TYPE,
                    "SplitType": "Line",
                    "CompressionType": "None",
                },
                TransformOutput={
                    "S3OutputPath": settings.output_uri,
                    "Accept": CONTENT_TYPE,
                    "AssembleWith": "Line",
                },
                TransformResources={
                    "InstanceType": settings.instance_type,
                    "InstanceCount": settings.instance_count,
                },
                Environment={"SEA_STAGE": settings.stage.value},
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransformError(
                f"creating the Batch Transform job {name} on model {model} failed: {exc}"
            ) from exc
        return TransformOutcome(name, "InProgress", model, settings.input_uri, settings.output_uri)

    def status(self, outcome: TransformOutcome) -> TransformOutcome:
        """The job's current status and failure reason."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            job = self.client.describe_transform_job(TransformJobName=outcome.job_name)
        except (ClientError, BotoCoreError) as exc:
            raise TransformError(f"cannot read the Batch Transform job {outcome.job_name}: {exc}") from exc
        return replace(
            outcome, status=str(job["TransformJobStatus"]), failure_reason=str(job.get("FailureReason") or "")
        )

    def watch(
        self,
        outcome: TransformOutcome,
        poll_s: float = 30.0,
        timeout_s: float | None = None,
        on_status: Callable[[TransformOutcome], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> TransformOutcome:
        """Poll until the job completes; `on_status` sees each status. TransformError when it
        fails or is stopped (with SageMaker's reason) or `timeout_s` passes (it keeps running)."""
        began = time.monotonic()
        while True:
            outcome = replace(self.status(outcome), seconds=round(time.monotonic() - began, 1))
            if on_status is not None:
                on_status(outcome)
            if outcome.status == "Completed":
                return outcome
            if outcome.status in TERMINAL:
                raise TransformError(
                    f"Batch Transform job {outcome.job_name} {outcome.status.lower()}: "
                    f"{outcome.failure_reason or 'no reason given'}"
                )
            if timeout_s is not None and time.monotonic() - began >= timeout_s:
                raise TransformError(
                    f"Batch Transform job {outcome.job_name} still {outcome.status} after {timeout_s:.0f} s "
                    "(it keeps running; watch it in the SageMaker console)"
                )
            sleep(poll_s)
