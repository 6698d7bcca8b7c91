"""Artifact stores: a local folder (default) or S3. `open_store(url)` picks one by URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from mlops.adapters.store.base import ArtifactStore, ConflictError, NotFound, StoreError

__all__ = ["ArtifactStore", "ConflictError", "NotFound", "StoreError", "open_store"]


def open_store(url: str, endpoint_url: str | None = None, region: str | None = None) -> ArtifactStore:
    """The store for `file:///abs/path` (a local folder) or `s3://bucket/prefix`.

    `endpoint_url` and `region` apply to S3 only (an S3-compatible server, its region).
    """
    if not isinstance(url, str) or "://" not in url:
        raise StoreError(f"invalid store URL {url!r}: expected file:///abs/path or s3://bucket/prefix")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise StoreError(f"invalid store URL {url!r}: file URLs need an absolute path (file:///abs/path)")
        path = unquote(parsed.path)
        if not path or not Path(path).is_absolute():
            raise StoreError(f"invalid store URL {url!r}: the path must be absolute")
        from mlops.adapters.store.local import LocalStore

        return LocalStore(path)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StoreError(f"invalid store URL {url!r}: no bucket name")
        from mlops.adapters.store.s3 import S3Store

        return S3Store(parsed.netloc, parsed.path.strip("/"), endpoint_url=endpoint_url, region=region)
    raise StoreError(f"unsupported store URL {url!r}: expected file:// or s3://")
