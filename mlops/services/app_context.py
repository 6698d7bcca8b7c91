"""TEMPORARY: `service_module` for pages/models.py until the branch that makes that page import
its services directly is merged; then delete this module. The composition root that lived
here is `mlops.bootstrap`."""
from __future__ import annotations

import importlib
from types import ModuleType


def service_module(name: str) -> ModuleType:
    """`mlops.services.<name>`."""
    return importlib.import_module(f"mlops.services.{name}")
