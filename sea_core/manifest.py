"""A folder's manifest: the sha256 and size of every file, in `manifest.json` at its root.

```
{"format": 1, "algorithm": "sha256",
 "files": {"embedding_model/embeddings.npy": {"sha256": "<64 hex>", "size": 123}, ...}}
```
Paths are relative, `/`-separated. `verify_manifest` checks every listed file (present, same
size, same sha256); files the manifest does not list (e.g. caches a loaded pipeline adds,
a deployment marker) are not checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
_CHUNK = 1024 * 1024


class ManifestError(RuntimeError):
    """A file differs from the manifest (or the manifest is unreadable); `file` names it."""

    def __init__(self, file: str, reason: str) -> None:
        self.file, self.reason = file, reason
        super().__init__(f"{file}: {reason}")


@dataclass(frozen=True)
class FileDigest:
    """One file's sha256 (hex) and size in bytes."""

    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        """The manifest entry."""
        return {"sha256": self.sha256, "size": self.size}


def file_digest(path: str | Path) -> FileDigest:
    """The sha256 and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileDigest(digest.hexdigest(), size)


def bytes_digest(data: bytes) -> FileDigest:
    """The digest a file holding `data` would have."""
    return FileDigest(hashlib.sha256(data).hexdigest(), len(data))


def _is_temporary(relative: str) -> bool:
    """Files this project writes and renames into place (`.name.xxxx`): never listed."""
    return any(part.startswith(".") for part in relative.split("/"))


def folder_digests(folder: str | Path, pending: Mapping[str, bytes] | None = None) -> dict[str, FileDigest]:
    """Digests of every file under `folder` (but the manifest and temporary dot-files), with
    `pending` (relative path -> the bytes about to be written there) in place of what is on disk."""
    folder = Path(folder)
    digests: dict[str, FileDigest] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative == MANIFEST_FILE or _is_temporary(relative):
            continue
        digests[relative] = file_digest(path)
    for relative, data in (pending or {}).items():
        digests[relative] = bytes_digest(data)
    return dict(sorted(digests.items()))


def write_manifest(folder: str | Path, pending: Mapping[str, bytes] | None = None) -> dict[str, FileDigest]:
    """Write `manifest.json` for `folder` (atomically: a temporary file renamed over it);
    `pending` as in `folder_digests`. Returns the digests written."""
    folder = Path(folder)
    digests = folder_digests(folder, pending)
    document = {
        "format": MANIFEST_FORMAT,
        "algorithm": "sha256",
        "files": {name: digest.to_dict() for name, digest in digests.items()},
    }
    tmp = folder / f".{MANIFEST_FILE}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(document, indent=1), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST_FILE)
    return digests


def has_manifest(folder: str | Path) -> bool:
    """Whether the folder carries a manifest."""
    return (Path(folder) / MANIFEST_FILE).is_file()


def read_manifest(folder: str | Path) -> dict[str, FileDigest]:
    """The digests a folder's manifest records; ManifestError when it is unreadable or malformed
    (an entry outside the folder, a bad digest)."""
    path = Path(folder) / MANIFEST_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        files = document["files"]
        if document.get("algorithm", "sha256") != "sha256" or not isinstance(files, dict):
            raise ValueError("expected sha256 digests under 'files'")
        digests = {}
        for name, entry in files.items():
            parts = PurePosixPath(name).parts
            if not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
                raise ValueError(f"entry {name!r} is not a relative path inside the folder")
            sha, size = entry["sha256"], entry["size"]
            if not (isinstance(sha, str) and len(sha) == 64 and isinstance(size, int) and size >= 0):
                raise ValueError(f"entry {name!r} has no valid sha256 and size")
            digests[name] = FileDigest(sha.lower(), size)
        return digests
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ManifestError(MANIFEST_FILE, f"unreadable manifest ({exc})") from exc


def verify_manifest(folder: str | Path) -> int:
    """Check every file the manifest lists; returns how many. ManifestError naming the first
    file that is missing or differs in size or sha256 (size first: a truncated copy is told
    without hashing it)."""
    folder = Path(folder)
    expected = read_manifest(folder)
    for name, want in expected.items():
        path = folder / name
        if not path.is_file():
            raise ManifestError(name, "missing (listed in the manifest)")
        size = path.stat().st_size
        if size != want.size:
            raise ManifestError(name, f"size {size} bytes, the manifest records {want.size}")
        got = file_digest(path)
        if got.sha256 != want.sha256:
            raise ManifestError(
                name, f"sha256 {got.sha256[:12]}… differs from the manifest's {want.sha256[:12]}…"
            )
    return len(expected)
