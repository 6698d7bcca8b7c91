"""The artifact store interface: bytes, files and folders under string keys, plus a
compare-and-swap document for the registry. Keys use `/` and never start with `/`.

Layout (ARCHITECTURE.md): `finetuned_models/mlops/versions/X.Y.Z/embedding_model/`,
`base_models/<name>/`, `prod/`, `logs.json`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any


class StoreError(RuntimeError):
    """The store could not be read or written; the message names the key."""


class NotFound(StoreError, KeyError):
    """No object under that key."""


class ConflictError(StoreError):
    """A compare-and-swap lost: the document changed since it was read."""


class ArtifactStore(ABC):
    """Where models, embeddings, experiments, logs and the registry document live."""

    url: str = ""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Write an object (atomically: readers see the old or the new content)."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Read an object; NotFound when absent."""

    @abstractmethod
    def put_file(self, key: str, path: str | Path) -> None:
        """Upload a local file, streamed (never read whole into memory)."""

    @abstractmethod
    def get_file(self, key: str, path: str | Path) -> None:
        """Download an object to a local file, streamed."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """All keys under a prefix, sorted."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """True when an object exists under the key."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object (no error when absent)."""

    @abstractmethod
    def read_document(self, key: str) -> tuple[Any, str | None]:
        """A JSON document and its version tag (ETag); (None, None) when absent.
        Raises StoreError when the stored bytes are not valid JSON (never guessed over)."""

    @abstractmethod
    def write_document(self, key: str, document: Any, expected_tag: str | None) -> str:
        """Write a JSON document only if its tag is still `expected_tag` (None: only if absent).
        Returns the new tag; raises ConflictError when another writer got there first."""

    def put_dir(self, prefix: str, folder: str | Path) -> int:
        """Upload every file of a local folder under a prefix; returns the file count."""
        folder = Path(folder)
        count = 0
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.put_file(f"{prefix.rstrip('/')}/{path.relative_to(folder).as_posix()}", path)
            count += 1
        return count

    def get_dir(self, prefix: str, folder: str | Path) -> int:
        """Download every object under a prefix into a local folder; returns the file count."""
        folder = Path(folder)
        prefix = prefix.rstrip("/") + "/"
        keys = self.list(prefix)
        for key in keys:
            target = folder / key[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            self.get_file(key, target)
        return len(keys)
