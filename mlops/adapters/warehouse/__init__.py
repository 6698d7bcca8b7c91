"""The warehouse: `open_warehouse(url)` picks SQLite (`sqlite:///path`) or Redshift/PostgreSQL
(`redshift://user:pass@host:port/db`, `postgresql://...`) behind one `Warehouse` interface."""

from __future__ import annotations

from mlops.adapters.warehouse.base import Session, Warehouse, WarehouseError
from mlops.adapters.warehouse.pooled import ConnectionLost

__all__ = ["ConnectionLost", "Session", "Warehouse", "WarehouseError", "open_warehouse"]


def open_warehouse(url: str) -> Warehouse:
    """The warehouse behind a URL; connects lazily (the first statement reports unreachability)."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        from mlops.adapters.warehouse.sqlite import SQLiteWarehouse

        return SQLiteWarehouse.from_url(url)
    if scheme in ("redshift", "postgresql", "postgres"):
        from mlops.adapters.warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse.from_url(url)
    raise WarehouseError(
        f"unknown warehouse URL scheme {scheme!r}: use sqlite:///path or redshift://user:pass@host:port/db"
    )
