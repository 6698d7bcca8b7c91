"""What CLI commands open from the settings: the warehouse (schema ensured) and the store."""
from __future__ import annotations

from mlops.adapters.store import ArtifactStore, open_store
from mlops.adapters.warehouse import Warehouse, open_warehouse
from mlops.config import Settings


def configured_warehouse(settings: Settings) -> Warehouse:
    """The configured warehouse, its schema created or upgraded."""
    warehouse = open_warehouse(settings.warehouse_url)
    warehouse.init_schema()
    return warehouse


def configured_store(settings: Settings) -> ArtifactStore:
    """The configured artifact store."""
    return open_store(settings.store_url, endpoint_url=settings.s3_endpoint_url,
                      region=settings.aws_region)
