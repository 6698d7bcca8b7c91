"""One process's shared resources: settings, warehouse, artifact store, registry, taxonomy and
inference client, each opened on first use and then reused (the app caches one `AppContext`
per process; CLI commands build their own).

`ServiceUnavailable` marks a part of the system that is not installed or cannot start; callers
show its message instead of a traceback.
"""
from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any, Callable

from mlops.config import Settings, load_settings


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

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self._lock = threading.RLock()
        self._parts: dict[str, Any] = {}

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
        """The configured taxonomy (`taxonomy_path`, else the bundled ESCO one)."""
        def make():
            from sea_core.taxonomy import bundled_taxonomy, load_taxonomy

            path = self.settings.taxonomy_path
            return load_taxonomy(path) if path else bundled_taxonomy()
        return self._get("taxonomy", make)

    def inference(self):
        """The inference client (`open_inference_client(settings)`); ServiceUnavailable when the
        adapter is missing or the model cannot be loaded."""
        def make():
            try:
                module = importlib.import_module("mlops.adapters.inference")
            except ModuleNotFoundError as exc:
                raise ServiceUnavailable("the inference adapter (mlops.adapters.inference) is not "
                                         "available in this installation") from exc
            opener = getattr(module, "open_inference_client", None)
            if opener is None:
                raise ServiceUnavailable("mlops.adapters.inference has no open_inference_client")
            try:
                return opener(self.settings)
            except ServiceUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - any start-up failure is "not available"
                raise ServiceUnavailable(f"the model could not be loaded: {exc}") from exc
        return self._get("inference", make)

    def close(self) -> None:
        """Close what was opened (the warehouse's connections)."""
        with self._lock:
            warehouse = self._parts.pop("warehouse", None)
            if warehouse is not None:
                warehouse.close()
            self._parts.clear()
