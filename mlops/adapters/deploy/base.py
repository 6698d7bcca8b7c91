"""Where a released model version runs: the `DeployTarget` interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from mlops.adapters.store.layout import version_prefix
from mlops.domain.stages import Stage


class DeployError(RuntimeError):
    """A deployment failed or is misconfigured; the message says where and why."""


def bundle_prefix(version: str) -> str:
    """The store prefix of a version's bundle: `finetuned_models/mlops/versions/<v>/`."""
    return version_prefix(version) + "/"


class DeployTarget(ABC):
    """Puts a version's bundle into service for a stage."""

    name: str = "target"

    @abstractmethod
    def deploy(self, stage: Stage | str, version: str, bundle_prefix: str) -> dict[str, Any]:
        """Serve the bundle under `bundle_prefix` (a store prefix) as `stage`; returns a
        description of what was deployed (JSON-ready). Raises DeployError."""
