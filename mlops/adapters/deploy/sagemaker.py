"""The SageMaker deployment target: per deployment a Model (the bundle's S3 prefix, served by
the project's container) and an EndpointConfig from the stage's config file
(`deploy/<stage>-config.json`, the production team's format); then the stage's Endpoint is
created, or updated in place when it exists (no downtime, no new endpoint name).

Config file: `{"Parameters": {"StageName": "prod", "EndpointInstanceCount": "1",
"EndpointInstanceType": "ml.g4dn.xlarge", "SamplingPercentage": "80", "EnableDataCapture":
"true"}}` (numbers and booleans may be strings, as in production).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops.adapters.deploy.base import DeployError, DeployTarget
from mlops.domain.stages import Stage

REQUIRED_KEYS = (
    "StageName",
    "EndpointInstanceCount",
    "EndpointInstanceType",
    "SamplingPercentage",
    "EnableDataCapture",
)
_NAME_LIMIT = 63
#: The repository's `deploy/` folder (dev-, uat- and prod-config.json).
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[3] / "deploy"


class DeployConfigError(DeployError):
    """A stage config file is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class EndpointSettings:
    """A stage's endpoint parameters, read from its config file."""

    stage: Stage
    instance_count: int
    instance_type: str
    sampling_percentage: int
    enable_data_capture: bool


def config_path(config_dir: str | Path, stage: Stage | str) -> Path:
    """`<config_dir>/<stage>-config.json`."""
    return Path(config_dir) / f"{Stage.parse(stage, DeployError).value}-config.json"


def _integer(path: Path, key: str, raw: Any, low: int, high: int | None) -> int:
    text = raw.strip() if isinstance(raw, str) else raw
    if isinstance(text, bool) or not isinstance(text, (int, str)):
        raise DeployConfigError(f"{path}: Parameters.{key} must be a whole number, got {raw!r}")
    try:
        value = int(text)
    except ValueError:
        raise DeployConfigError(f"{path}: Parameters.{key} must be a whole number, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise DeployConfigError(f"{path}: Parameters.{key} must be {bounds}, got {value}")
    return value


def _boolean(path: Path, key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise DeployConfigError(f"{path}: Parameters.{key} must be true or false, got {raw!r}")


def read_parameters(path: Path, what: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The `Parameters` object of a config file (the production team's format), with every
    `required` key; DeployConfigError names the file and the key."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployConfigError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeployConfigError(f"{path}: not readable as JSON: {exc}") from None
    params = document.get("Parameters") if isinstance(document, dict) else None
    if not isinstance(params, dict):
        raise DeployConfigError(f'{path}: expected an object with a "Parameters" object')
    missing = [key for key in required if key not in params]
    if missing:
        raise DeployConfigError(
            f"{path}: Parameters.{missing[0]} is missing (required: {', '.join(required)})"
        )
    return params


def instance_type(path: Path, key: str, raw: Any) -> str:
    """A SageMaker instance type (`ml.m5.large`); DeployConfigError naming the file and key."""
    if not isinstance(raw, str) or not re.fullmatch(r"ml\.[a-z0-9]+\.[a-z0-9]+", raw.strip()):
        raise DeployConfigError(
            f"{path}: Parameters.{key} must be a SageMaker instance type like 'ml.m5.large', got {raw!r}"
        )
    return raw.strip()


def load_endpoint_settings(config_dir: str | Path, stage: Stage | str) -> EndpointSettings:
    """Read and check a stage's config file; DeployConfigError names the file and the key."""
    stage = Stage.parse(stage, DeployError)
    path = config_path(config_dir, stage)
    params = read_parameters(path, f"deployment config for {stage.label}", REQUIRED_KEYS)
    if str(params["StageName"]).strip().lower() != stage.value:
        raise DeployConfigError(
            f"{path}: Parameters.StageName is {params['StageName']!r}, expected {stage.value!r}"
        )
    return EndpointSettings(
        stage=stage,
        instance_count=_integer(path, "EndpointInstanceCount", params["EndpointInstanceCount"], 1, None),
        instance_type=instance_type(path, "EndpointInstanceType", params["EndpointInstanceType"]),
        sampling_percentage=_integer(path, "SamplingPercentage", params["SamplingPercentage"], 0, 100),
        enable_data_capture=_boolean(path, "EnableDataCapture", params["EnableDataCapture"]),
    )


def _resource_name(*parts: str) -> str:
    """A SageMaker resource name: letters, digits and hyphens, at most 63 characters."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-")
    return name[:_NAME_LIMIT].rstrip("-")


class SageMakerTarget(DeployTarget):
    """SageMaker real-time endpoints named `<name_prefix>-<stage>`."""

    name = "sagemaker"

    def __init__(
        self,
        session: Any,
        role_arn: str,
        image_uri: str,
        artifact_root: str,
        config_dir: str | Path = DEFAULT_CONFIG_DIR,
        name_prefix: str = "sea",
    ) -> None:
        """`session`: a boto3 Session; `artifact_root`: the store's S3 URL (`s3://bucket/prefix`),
        under which bundle prefixes are resolved."""
        if not artifact_root.startswith("s3://"):
            raise DeployError(
                f"SageMaker serves models from S3: artifact root must be an s3:// URL, got {artifact_root!r}"
            )
        self.client = session.client("sagemaker")
        self.role_arn = role_arn
        self.image_uri = image_uri
        self.artifact_root = artifact_root.rstrip("/")
        self.config_dir = Path(config_dir)
        self.name_prefix = name_prefix

    def endpoint_name(self, stage: Stage | str) -> str:
        """The stage's endpoint name (`sea-prod`)."""
        return _resource_name(self.name_prefix, Stage.parse(stage, DeployError).value)

    def _endpoint_exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.describe_endpoint(EndpointName=name)
            return True
        except ClientError as exc:
            if "Could not find" in str(exc) or exc.response.get("Error", {}).get("Code") in (
                "ValidationException",
                "ResourceNotFound",
            ):
                return False
            raise

    def deploy(self, stage: Stage | str, version: str, bundle_prefix: str) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        stage = Stage.parse(stage, DeployError)
        settings = load_endpoint_settings(self.config_dir, stage)
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        model_name = _resource_name(self.name_prefix, stage, version, stamp)
        config_name = _resource_name(self.name_prefix, stage, version, "cfg", stamp)
        endpoint = self.endpoint_name(stage)
        model_url = f"{self.artifact_root}/{bundle_prefix.strip('/')}/"
        variant = {
            "VariantName": "AllTraffic",
            "ModelName": model_name,
            "InitialInstanceCount": settings.instance_count,
            "InstanceType": settings.instance_type,
            "InitialVariantWeight": 1.0,
        }
        config: dict[str, Any] = {"EndpointConfigName": config_name, "ProductionVariants": [variant]}
        if settings.enable_data_capture:
            config["DataCaptureConfig"] = {
                "EnableCapture": True,
                "InitialSamplingPercentage": settings.sampling_percentage,
                "DestinationS3Uri": f"{self.artifact_root}/datacapture/{stage}",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
        try:
            self.client.create_model(
                ModelName=model_name,
                ExecutionRoleArn=self.role_arn,
                PrimaryContainer={
                    "Image": self.image_uri,
                    "ModelDataSource": {
                        "S3DataSource": {
                            "S3Uri": model_url,
                            "S3DataType": "S3Prefix",
                            "CompressionType": "None",
                        }
                    },
                    "Environment": {"SEA_MODEL_VERSION": version, "SEA_STAGE": stage.value},
                },
            )
            self.client.create_endpoint_config(**config)
            if self._endpoint_exists(endpoint):
                self.client.update_endpoint(EndpointName=endpoint, EndpointConfigName=config_name)
                action = "updated"
            else:
                self.client.create_endpoint(EndpointName=endpoint, EndpointConfigName=config_name)
                action = "created"
        except (ClientError, BotoCoreError) as exc:
            raise DeployError(
                f"SageMaker deployment of {version} to {stage.label} (endpoint {endpoint}) failed: {exc}"
            ) from exc
        return {
            "target": self.name,
            "stage": stage.value,
            "version": version,
            "endpoint": endpoint,
            "endpoint_config": config_name,
            "model": model_name,
            "model_data": model_url,
            "instance_type": settings.instance_type,
            "instance_count": settings.instance_count,
            "action": action,
        }
