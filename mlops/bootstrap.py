"""The composition root: every adapter of one process, built from `Settings` once.

`Bootstrap(settings)` opens each part on first use and then reuses it (thread-safe):
the warehouse (schema created or upgraded), the artifact store, the model registry, the
reviewers' taxonomy, the deploy target, the prediction log, the models (`pipeline`) and the
inference clients (`inference`). Every entry point receives one: the CLI builds one per command
(`args.services`), the server and the worker take it, job handlers get it as their third
argument, the Streamlit app caches one per process (`mlops.entrypoints.ui.context`), and the
demo builds one on its own data folder. Nothing else opens a warehouse or a store from the
settings.

`ServiceUnavailable` marks a part that cannot start (a model that does not load, ...); callers
show its message instead of a traceback.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.config import Settings, load_settings

if TYPE_CHECKING:
    from mlops.adapters.deploy.base import DeployTarget
    from mlops.adapters.inference.base import InferenceClient
    from mlops.adapters.store.base import ArtifactStore
    from mlops.adapters.warehouse.base import Warehouse
    from mlops.services.prediction_log import PredictionLog
    from mlops.services.registry import Registry
    from sea_core.pipeline import Pipeline
    from sea_core.taxonomy import Taxonomy

#: Seconds between checks for a newer taxonomy import.
TAXONOMY_RECHECK_S = 30.0
#: The queue folder (`<home>/queue/<name>/`) of the process's own prediction log.
DEFAULT_LOG_QUEUE = "app"


class ServiceUnavailable(RuntimeError):
    """A backend is missing or failed to start; the message says which."""


class Bootstrap:
    """Lazily opened, thread-safe adapters and services for one settings object."""

    def __init__(
        self, settings: Settings | None = None, *, overrides: Mapping[str, Any] | None = None, **parts: Any
    ) -> None:
        """`settings` default to `load_settings()` (read on first use); `overrides` replace
        settings fields (e.g. `{"warehouse_url": ...}` from a command-line option; None values
        are ignored). `parts` pre-set resources by name (`warehouse`, `store`, `registry`,
        `taxonomy`, `inference`, `prediction_log`), e.g. a fake inference client in tests."""
        self._settings = settings
        self._overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        self._lock = threading.RLock()
        self._parts: dict[str, Any] = dict(parts)
        self._fixed_taxonomy = "taxonomy" in parts
        self._taxonomy_checked = 0.0
        self._opened_logs: list[PredictionLog] = []

    def __enter__(self) -> Bootstrap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, name: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._parts:
                self._parts[name] = make()
            return self._parts[name]

    # -- configuration and adapters --------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The settings (loaded on first use when none were given), with the overrides."""
        with self._lock:
            if self._settings is None:
                self._settings = load_settings()
            if self._overrides:
                self._settings = dataclasses.replace(self._settings, **self._overrides)
                self._overrides = {}
            return self._settings

    @property
    def warehouse(self) -> Warehouse:
        """The warehouse, its schema created or upgraded on first use."""

        def make() -> Warehouse:
            from mlops.adapters.warehouse import open_warehouse

            self.settings.home.mkdir(parents=True, exist_ok=True)
            warehouse = open_warehouse(self.settings.warehouse_url)
            warehouse.init_schema()
            return warehouse

        return self._get("warehouse", make)

    @property
    def store(self) -> ArtifactStore:
        """The artifact store."""

        def make() -> ArtifactStore:
            from mlops.adapters.store import open_store

            return open_store(
                self.settings.store_url,
                endpoint_url=self.settings.s3_endpoint_url,
                region=self.settings.aws_region,
            )

        return self._get("store", make)

    @property
    def registry(self) -> Registry:
        """The model registry on the artifact store."""
        from mlops.services.registry import Registry

        return self._get("registry", lambda: Registry(self.store))

    @property
    def deploy_target(self) -> DeployTarget:
        """Where releases deploy by default: the local serving folders (PROD mirrored to the
        store's `prod/`); SageMaker deployments go through `python -m mlops release`."""

        def make() -> DeployTarget:
            from mlops.adapters.deploy import LocalTarget

            return LocalTarget(self.store, self.settings.home)

        return self._get("deploy_target", make)

    @property
    def taxonomy(self) -> Taxonomy:
        """The taxonomy reviewers work with: the newest one imported into the warehouse (what
        builds use), else the configured one (`taxonomy_path`, else the bundled ESCO one).
        A newer import is picked up within TAXONOMY_RECHECK_S; a taxonomy given to the
        constructor is kept as it is."""
        with self._lock:
            if self._fixed_taxonomy or (
                "taxonomy" in self._parts and time.monotonic() - self._taxonomy_checked < TAXONOMY_RECHECK_S
            ):
                return self._parts["taxonomy"]
            from mlops.services.taxonomy_import import current_taxonomy, current_version

            head = current_version(self.warehouse)
            key = head["version"] if head else ""
            if "taxonomy" not in self._parts or self._parts.get("taxonomy_key") != key:
                self._parts["taxonomy"] = (
                    current_taxonomy(self.warehouse) if head else self._configured_taxonomy()
                )
                self._parts["taxonomy_key"] = key
            self._taxonomy_checked = time.monotonic()
            return self._parts["taxonomy"]

    def _configured_taxonomy(self) -> Taxonomy:
        from sea_core.taxonomy import bundled_taxonomy, load_taxonomy

        path = self.settings.taxonomy_path
        return load_taxonomy(path) if path else bundled_taxonomy()

    # -- predictions -----------------------------------------------------------------------
    def open_prediction_log(self, queue: str, **options: Any) -> PredictionLog:
        """A new PredictionLog on this warehouse and store, queueing in `<home>/queue/<queue>/`
        (one queue per kind of process: 'app', 'server-8080', ...); closed by `close()`.
        `options` go to `PredictionLog` (e.g. `background=False`)."""
        from mlops.services.prediction_log import PredictionLog

        prediction_log = PredictionLog(
            self.warehouse, self.store, Path(self.settings.home) / "queue" / queue, **options
        )
        with self._lock:
            self._opened_logs.append(prediction_log)
        return prediction_log

    @property
    def prediction_log(self) -> PredictionLog:
        """The process's prediction log (queue `<home>/queue/app/`), what the in-process
        inference client logs into."""
        return self._get("prediction_log", lambda: self.open_prediction_log(DEFAULT_LOG_QUEUE))

    def pipeline(self, stage: str | None = None, version: str | None = None) -> Pipeline:
        """The model of a stage (default prod) or a registered version, loaded once per process
        (`mlops.services.model_loading.load_pipeline` on this store)."""
        from mlops.services.model_loading import load_pipeline

        return load_pipeline(self.settings, stage=stage, version=version, store=self.store)

    def inference(self, stage: str = "prod", log: bool = True) -> InferenceClient:
        """The inference client for `stage`: the HTTP server at `inference_url`, else the
        SageMaker endpoint `sagemaker_endpoint`, else the stage's model in this process,
        logging into `prediction_log` when `log` (remote servers log what they serve).
        A client given to the constructor is always returned. ServiceUnavailable when the
        model cannot be loaded."""
        if "inference" in self._parts:
            return self._parts["inference"]
        settings = self.settings
        if settings.inference_url:
            from mlops.adapters.inference.http import HttpInferenceClient

            return HttpInferenceClient(settings.inference_url)
        if settings.sagemaker_endpoint:
            from mlops.adapters.inference.sagemaker import SageMakerInferenceClient

            return SageMakerInferenceClient(settings.sagemaker_endpoint, region=settings.aws_region)
        from mlops.adapters.inference.in_process import InProcessInferenceClient

        try:
            # model_loading caches pipelines, so re-opening per call is cheap and picks up
            # a promotion at once.
            pipeline = self.pipeline(stage=stage)
        except Exception as exc:  # any start-up failure is "not available"
            raise ServiceUnavailable(f"the {stage} model could not be loaded: {exc}") from exc
        return InProcessInferenceClient(pipeline, stage, self.prediction_log if log else None)

    def warm_up(self, stage: str = "prod") -> None:
        """Start loading the stage's model in a background thread (once per stage), so the
        first extraction does not wait for it; `model_loading` tells whether it still runs."""
        with self._lock:
            if f"warmup:{stage}" in self._parts or "inference" in self._parts:
                return
            thread = threading.Thread(target=self._warm, args=(stage,), daemon=True, name=f"warm-up-{stage}")
            self._parts[f"warmup:{stage}"] = thread
        thread.start()

    def _warm(self, stage: str) -> None:
        try:
            self.inference(stage, log=False)
        except Exception:  # the page reports the error on first use
            pass

    def model_loading(self, stage: str = "prod") -> bool:
        """Whether the background warm-up of the stage's model is still running."""
        thread = self._parts.get(f"warmup:{stage}")
        return thread is not None and thread.is_alive()

    def close(self) -> None:
        """Close what was opened: the prediction logs (last delivery), then the warehouse."""
        with self._lock:
            logs, self._opened_logs = self._opened_logs, []
            for prediction_log in logs:
                prediction_log.close()
            warehouse = self._parts.pop("warehouse", None)
            if warehouse is not None:
                warehouse.close()
            self._parts.clear()
