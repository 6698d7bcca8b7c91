"""The artifact store in a local folder (the embedded default).

Every write goes to a temporary file under `<root>/.sea-store/tmp/` and is moved into place
with `os.replace`, so readers see the old or the new content. Documents are swapped under a
per-key file lock (`filelock`, safe across threads and processes); their tag is the sha256 of
the stored bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from filelock import FileLock, Timeout

from mlops.adapters.store.base import ArtifactStore, ConflictError, NotFound, StoreError
from mlops.adapters.store.documents import decode_document, encode_document

#: Folder under the root holding temporary files and locks; never listed, never a key.
INTERNAL_DIR = ".sea-store"
_CHUNK = 1024 * 1024


def validate_key(key: str) -> str:
    """A key: non-empty, `/`-separated, relative, without `.`/`..` or empty parts."""
    if not isinstance(key, str) or not key:
        raise StoreError(f"invalid key {key!r}: expected a non-empty string")
    parts = key.split("/")
    if key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
        raise StoreError(f"invalid key {key!r}: expected relative parts separated by '/'")
    if parts[0] == INTERNAL_DIR:
        raise StoreError(f"invalid key {key!r}: {INTERNAL_DIR}/ is reserved for the store")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: any string whose folder part (before the last '/') is a valid key."""
    if not isinstance(prefix, str):
        raise StoreError(f"invalid prefix {prefix!r}: expected a string")
    folder = prefix.rpartition("/")[0]
    if folder:
        validate_key(folder)
    return prefix


class LocalStore(ArtifactStore):
    """Objects are files under `root`; keys are their relative paths."""

    def __init__(self, root: str | Path, lock_timeout: float = 60.0) -> None:
        self.root = Path(root).expanduser().resolve()
        self.lock_timeout = lock_timeout
        self._tmp = self.root / INTERNAL_DIR / "tmp"
        self._locks = self.root / INTERNAL_DIR / "locks"
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            self._locks.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot use {self.root} as an artifact store: {exc}") from exc
        self.url = self.root.as_uri()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _write_atomic(self, key: str, fill: Callable[[BinaryIO], object]) -> None:
        target = self._path(key)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
                handle.flush()
                os.fsync(handle.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
        except BaseException as exc:
            Path(tmp_name).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StoreError(f"{key}: cannot write to {self.root}: {exc}") from exc
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write_atomic(key, lambda handle: handle.write(data))

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"{key}: no such object in {self.url}") from exc
        except OSError as exc:
            raise StoreError(f"{key}: cannot read from {self.url}: {exc}") from exc

    def put_file(self, key: str, path: str | Path) -> None:
        try:
            source = open(path, "rb")
        except OSError as exc:
            raise StoreError(f"{key}: cannot read local file {path}: {exc}") from exc
        with source:
            self._write_atomic(key, lambda handle: shutil.copyfileobj(source, handle, _CHUNK))

    def get_file(self, key: str, path: str | Path) -> None:
        source_path = self._path(key)
        target = Path(path)
        try:
            source = open(source_path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"{key}: no such object in {self.url}") from exc
        with source:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            try:
                with os.fdopen(fd, "wb") as handle:
                    shutil.copyfileobj(source, handle, _CHUNK)
                os.replace(tmp_name, target)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise

    def list(self, prefix: str = "") -> list[str]:
        # Walk only the folder the prefix names (its part before the last '/').
        folder = validate_prefix(prefix).rpartition("/")[0]
        base = self.root / folder if folder else self.root
        if not base.is_dir():
            return []
        keys = []
        for dirpath, dirnames, filenames in os.walk(base):
            if Path(dirpath) == self.root:
                dirnames[:] = [d for d in dirnames if d != INTERNAL_DIR]
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except IsADirectoryError:
            pass
        except OSError as exc:
            raise StoreError(f"{key}: cannot delete from {self.url}: {exc}") from exc

    def _read_raw(self, key: str) -> bytes | None:
        try:
            return self.get_bytes(key)
        except NotFound:
            return None

    def read_document(self, key: str) -> tuple[Any, str | None]:
        data = self._read_raw(key)
        if data is None:
            return None, None
        return decode_document(key, data, self.url), _tag(data)

    def write_document(self, key: str, document: Any, expected_tag: str | None) -> str:
        data = encode_document(key, document)
        lock_name = hashlib.sha256(validate_key(key).encode()).hexdigest() + ".lock"
        try:
            with FileLock(str(self._locks / lock_name), timeout=self.lock_timeout):
                current = self._read_raw(key)
                if current is not None:
                    decode_document(key, current, self.url)  # a corrupt document is never replaced
                current_tag = None if current is None else _tag(current)
                if current_tag != expected_tag:
                    raise ConflictError(
                        f"{key}: changed since it was read (expected tag {expected_tag}, found {current_tag})"
                    )
                self.put_bytes(key, data)
        except Timeout as exc:
            raise StoreError(f"{key}: lock not acquired within {self.lock_timeout} s") from exc
        return _tag(data)


def _tag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
