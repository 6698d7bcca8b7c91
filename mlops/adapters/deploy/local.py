"""The embedded deployment target: each stage is a folder `<home>/serving/<stage>/` holding a
copy of the version's bundle (what `python -m mlops serve --stage X` loads). A deployment
downloads into a temporary folder beside it and swaps it in by rename, so the folder always
holds one whole bundle. PROD is also mirrored under the store's `prod/` prefix."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from filelock import FileLock

from mlops.adapters.deploy.base import DeployError, DeployTarget
from mlops.adapters.store.base import ArtifactStore, StoreError
from mlops.adapters.store.layout import PROD_PREFIX
from mlops.domain.clock import timestamp
from mlops.domain.stages import Stage

#: Written into each serving folder (and `prod/`): which version is served, since when.
DEPLOYMENT_FILE = "deployment.json"
SERVING_DIR = "serving"


def serving_dir(home: str | Path, stage: Stage | str) -> Path:
    """The folder a stage is served from on this machine: `<home>/serving/<stage>/` (the one
    definition; ValueError for an unknown stage)."""
    return Path(home) / SERVING_DIR / Stage.parse(stage).value


class LocalTarget(DeployTarget):
    """Serving folders under `<home>/serving/`, filled from the artifact store."""

    name = "local"

    def __init__(self, store: ArtifactStore, home: str | Path) -> None:
        self.store = store
        self.home = Path(home)
        self.root = self.home / SERVING_DIR

    def serving_dir(self, stage: Stage | str) -> Path:
        """`<home>/serving/<stage>/`; DeployError for an unknown stage."""
        return serving_dir(self.home, Stage.parse(stage, DeployError))

    def deploy(self, stage: Stage | str, version: str, bundle_prefix: str) -> dict[str, Any]:
        stage = Stage.parse(stage, DeployError)
        target = self.serving_dir(stage)
        self.root.mkdir(parents=True, exist_ok=True)
        marker = {
            "stage": stage.value,
            "version": version,
            "bundle": bundle_prefix,
            "deployed_at": timestamp(),
        }
        from sea_core.bundle import BundleIntegrityError, verify_bundle  # loads the encoder stack

        with FileLock(str(self.root / f".{stage}.lock"), timeout=600):
            staging = self.root / f".incoming-{stage}-{uuid.uuid4().hex[:8]}"
            try:
                count = self.store.get_dir(bundle_prefix, staging)
                if count == 0:
                    raise DeployError(
                        f"cannot deploy {version} to {stage.label}: no bundle "
                        f"under {bundle_prefix} in {self.store.url}"
                    )
                verify_bundle(staging)  # a corrupt store copy is never deployed
                (staging / DEPLOYMENT_FILE).write_text(json.dumps(marker, indent=2), encoding="utf-8")
                mirrored = self._mirror_prod(staging) if stage is Stage.PROD else None
                self._swap(staging, target)
            except (StoreError, BundleIntegrityError) as exc:
                raise DeployError(f"cannot deploy {version} to {stage.label}: {exc}") from exc
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return {
            "target": self.name,
            "stage": stage.value,
            "version": version,
            "path": str(target),
            "files": count,
            "mirror": mirrored,
        }

    def _swap(self, staging: Path, target: Path) -> None:
        """Put `staging` in place of `target` by rename; the old folder is removed after."""
        retired = None
        if target.exists():
            retired = self.root / f".retired-{target.name}-{uuid.uuid4().hex[:8]}"
            os.replace(target, retired)
        try:
            os.replace(staging, target)
        except OSError:
            if retired is not None:
                os.replace(retired, target)  # put the previous deployment back
            raise
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)

    def _mirror_prod(self, staging: Path) -> str:
        """Copy the bundle to the store's `prod/` prefix; stale files there are removed."""
        fresh = {
            f"{PROD_PREFIX}/{p.relative_to(staging).as_posix()}" for p in staging.rglob("*") if p.is_file()
        }
        old = set(self.store.list(f"{PROD_PREFIX}/"))
        self.store.put_dir(PROD_PREFIX, staging)
        for key in sorted(old - fresh):
            self.store.delete(key)
        return f"{PROD_PREFIX}/"
