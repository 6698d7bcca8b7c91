"""Where a released model version runs: the `DeployTarget` interface."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from mlops.adapters.store.layout import VERSIONS_PREFIX

#: Deployment stages, lowest to highest.
STAGES = ("dev", "uat", "prod")


class DeployError(RuntimeError):
    """A deployment failed or is misconfigured; the message says where and why."""


def bundle_prefix(version: str) -> str:
    """The store prefix of a version's bundle: `finetuned_models/mlops/versions/<v>/`."""
    return f"{VERSIONS_PREFIX}/{version}/"


def check_stage(stage: str) -> str:
    """A valid stage name, else DeployError."""
    if stage not in STAGES:
        raise DeployError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")
    return stage


class DeployTarget(ABC):
    """Puts a version's bundle into service for a stage."""

    name: str = "target"

    @abstractmethod
    def deploy(self, stage: str, version: str, bundle_prefix: str) -> dict[str, Any]:
        """Serve the bundle under `bundle_prefix` (a store prefix) as `stage`; returns a
        description of what was deployed (JSON-ready). Raises DeployError."""
