"""JSON encoding of store documents, shared by every store."""

from __future__ import annotations

import json
from typing import Any

from mlops.adapters.store.base import StoreError


def encode_document(key: str, document: Any) -> bytes:
    """UTF-8 JSON, indented, keys in insertion order; StoreError if not serialisable."""
    try:
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{key}: document is not JSON-serialisable: {exc}") from exc


def decode_document(key: str, data: bytes, where: str = "") -> Any:
    """The parsed document; StoreError naming the key when the bytes are not valid JSON."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        place = f" in {where}" if where else ""
        raise StoreError(
            f"{key}{place} is corrupt (not valid UTF-8 JSON): {exc}; "
            "left untouched, repair or restore it by hand"
        ) from exc
