"""One process's shared resources: settings, warehouse, artifact store, registry, taxonomy and
inference client, each opened on first use and then reused (the app caches one `AppContext`
per process; CLI commands build their own).

`ServiceUnavailable` marks a part of the system that is not installed or cannot start; callers
show its message instead of a traceback.
"""
from __future__ import annotations

import importlib
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from mlops.config import Settings, load_settings


#: Seconds between checks for a newer taxonomy import.
TAXONOMY_RECHECK_S = 30.0


class ServiceUnavailable(RuntimeError):
    """A service module or backend is missing or failed to start; the message says which."""


def service_module(name: str) -> ModuleType:
    """`mlops.services.<name>` (or a dotted path under `mlops`), or ServiceUnavailable."""
    dotted = name if name.startswith("mlops.") else f"mlops.services.{name}"
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        if exc.name and (dotted == exc.name or dotted.startswith(exc.name + ".")):
            raise ServiceUnavailable(f"service {dotted} is not available in this installation") from exc
        raise


def service_function(module: str, function: str) -> Callable[..., Any]:
    """A function of a service module, or ServiceUnavailable naming it."""
    found = getattr(service_module(module), function, None)
    if not callable(found):
        raise ServiceUnavailable(f"service function {module}.{function} is not available")
    return found


class AppContext:
    """Lazily opened, thread-safe shared resources for one settings object."""

    def __init__(self, settings: Settings | None = None, **parts: Any) -> None:
        """`parts` pre-sets resources by name (`warehouse`, `store`, `registry`, `taxonomy`,
        `inference`), e.g. a fake inference client in tests."""
        self.settings = settings or load_settings()
        self._lock = threading.RLock()
        self._parts: dict[str, Any] = dict(parts)
        self._fixed_taxonomy = "taxonomy" in parts
        self._taxonomy_checked = 0.0

    def _get(self, name: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._parts:
                self._parts[name] = make()
            return self._parts[name]

    @property
    def warehouse(self):
        """The warehouse, its schema created or upgraded on first use."""
        def make():
            from mlops.adapters.warehouse import open_warehouse

            self.settings.home.mkdir(parents=True, exist_ok=True)
            warehouse = open_warehouse(self.settings.warehouse_url)
            warehouse.init_schema()
            return warehouse
        return self._get("warehouse", make)

    @property
    def store(self):
        """The artifact store."""
        def make():
            from mlops.adapters.store import open_store

            return open_store(self.settings.store_url, endpoint_url=self.settings.s3_endpoint_url,
                              region=self.settings.aws_region)
        return self._get("store", make)

    @property
    def registry(self):
        """The model registry on the artifact store."""
        from mlops.services.registry import Registry

        return self._get("registry", lambda: Registry(self.store))

    @property
    def taxonomy(self):
        """The taxonomy reviewers work with: the newest one imported into the warehouse (what
        builds use), else the configured one (`taxonomy_path`, else the bundled ESCO one).
        A newer import is picked up within TAXONOMY_RECHECK_S; a taxonomy given to the
        constructor is kept as it is."""
        with self._lock:
            if self._fixed_taxonomy or (
                    "taxonomy" in self._parts
                    and time.monotonic() - self._taxonomy_checked < TAXONOMY_RECHECK_S):
                return self._parts["taxonomy"]
            from mlops.services.taxonomy_import import current_taxonomy, current_version

            head = current_version(self.warehouse)
            key = head["version"] if head else ""
            if "taxonomy" not in self._parts or self._parts.get("taxonomy_key") != key:
                self._parts["taxonomy"] = current_taxonomy(self.warehouse) if head else self._configured_taxonomy()
                self._parts["taxonomy_key"] = key
            self._taxonomy_checked = time.monotonic()
            return self._parts["taxonomy"]

    def _configured_taxonomy(self):
        from sea_core.taxonomy import bundled_taxonomy, load_taxonomy

        path = self.settings.taxonomy_path
        return load_taxonomy(path) if path else bundled_taxonomy()

    @property
    def deploy_target(self):
        """Where releases deploy from the app: the local serving folders (PROD mirrored to the
        store's `prod/`); SageMaker deployments go through `python -m mlops release`."""
        def make():
            from mlops.adapters.deploy import LocalTarget

            return LocalTarget(self.store, self.settings.home)
        return self._get("deploy_target", make)

    @property
    def prediction_log(self):
        """The app's prediction log (queue under `<home>/queue/app/`)."""
        def make():
            from mlops.services.prediction_log import PredictionLog

            return PredictionLog(self.warehouse, self.store, Path(self.settings.home) / "queue" / "app")
        return self._get("prediction_log", make)

    def inference(self, stage: str = "prod", log: bool = True):
        """The inference client for `stage` (`open_inference_client`); the in-process one logs
        into `prediction_log` when `log`. A client given to the constructor is always returned.
        ServiceUnavailable when the adapter is missing or the model cannot be loaded."""
        if "inference" in self._parts:
            return self._parts["inference"]
        try:
            module = importlib.import_module("mlops.adapters.inference")
        except ModuleNotFoundError as exc:
            raise ServiceUnavailable("the inference adapter (mlops.adapters.inference) is not "
                                     "available in this installation") from exc
        try:
            # model_loading caches pipelines, so re-opening per call is cheap and picks up
            # a promotion at once.
            return module.open_inference_client(self.settings, stage=stage,
                                                 prediction_log=self.prediction_log if log else None)
        except Exception as exc:  # noqa: BLE001 - any start-up failure is "not available"
            raise ServiceUnavailable(f"the {stage} model could not be loaded: {exc}") from exc

    def warm_up(self, stage: str = "prod") -> None:
        """Start loading the stage's model in a background thread (once per stage), so the
        first extraction does not wait for it; `model_loading` tells whether it still runs."""
        with self._lock:
            if f"warmup:{stage}" in self._parts or "inference" in self._parts:
                return
            thread = threading.Thread(target=self._warm, args=(stage,), daemon=True,
                                      name=f"warm-up-{stage}")
            self._parts[f"warmup:{stage}"] = thread
        thread.start()

    def _warm(self, stage: str) -> None:
        try:
            self.inference(stage, log=False)
        except Exception:  # noqa: BLE001 - the page reports the error on first use
            pass

    def model_loading(self, stage: str = "prod") -> bool:
        """Whether the background warm-up of the stage's model is still running."""
        thread = self._parts.get(f"warmup:{stage}")
        return thread is not None and thread.is_alive()

    def close(self) -> None:
        """Close what was opened (the warehouse's connections)."""
        with self._lock:
            log = self._parts.pop("prediction_log", None)
            if log is not None:
                log.close()
            warehouse = self._parts.pop("warehouse", None)
            if warehouse is not None:
                warehouse.close()
            self._parts.clear()
