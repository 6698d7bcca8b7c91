"""Deployment targets: `LocalTarget` (serving folders under the SEA home, PROD mirrored to the
store's `prod/`) and `SageMakerTarget` (model, endpoint config and endpoint per stage)."""

from __future__ import annotations

from mlops.adapters.deploy.base import DeployError, DeployTarget, bundle_prefix
from mlops.adapters.deploy.local import LocalTarget, serving_dir

__all__ = ["DeployError", "DeployTarget", "LocalTarget", "bundle_prefix", "serving_dir", "SageMakerTarget"]


def __getattr__(name: str):  # SageMakerTarget imports boto3 only when asked for
    if name == "SageMakerTarget":
        from mlops.adapters.deploy.sagemaker import SageMakerTarget

        return SageMakerTarget
    raise AttributeError(name)
