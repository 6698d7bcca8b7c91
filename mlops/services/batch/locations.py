"""Where a bulk run reads and writes: local paths or `s3://bucket/key` URLs.

An S3 input is downloaded into the work folder before the run; S3 outputs are merged locally
and uploaded once complete (through `mlops.adapters.store.s3.S3Store`, with the settings'
`s3_endpoint_url` and `aws_region`). A local output is written next to its final name and
renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from mlops.adapters.store.s3 import S3Store
from mlops.services.batch.formats import BatchFormatError

S3_SCHEME = "s3://"
REJECTS_SUFFIX = ".rejects.jsonl"


@dataclass(frozen=True)
class Location:
    """A local path or an S3 object URL."""

    url: str

    @property
    def is_s3(self) -> bool:
        return self.url.startswith(S3_SCHEME)

    @property
    def name(self) -> str:
        """The file name (the last part of the path or key)."""
        return PurePosixPath(urlparse(self.url).path).name if self.is_s3 else Path(self.url).name

    @property
    def path(self) -> Path:
        """The local path (ValueError for an S3 URL)."""
        if self.is_s3:
            raise ValueError(f"{self.url} is not a local path")
        return Path(self.url).expanduser().resolve()

    def s3_parts(self) -> tuple[str, str]:
        """(bucket, key) of an S3 URL; ValueError when either is missing."""
        parsed = urlparse(self.url)
        key = parsed.path.lstrip("/")
        if not parsed.netloc or not key or key.endswith("/"):
            raise ValueError(f"{self.url}: expected s3://bucket/key naming one object")
        return parsed.netloc, key


def location(text: str) -> Location:
    """A Location from a command-line value (local paths are made absolute)."""
    if not text or not text.strip():
        raise ValueError("a location must not be empty")
    if text.startswith(S3_SCHEME):
        result = Location(text)
        result.s3_parts()
        return result
    if "://" in text:
        raise ValueError(f"{text}: expected a local path or an s3:// URL")
    return Location(str(Path(text).expanduser().resolve()))


def rejects_for(output: Location) -> Location:
    """The rejects file beside an output: its name with `.rejects.jsonl` for its extension."""
    stem, dot, _ = output.url.rpartition(".")
    base = stem if dot and "/" not in output.url[len(stem) :] else output.url
    return Location(base + REJECTS_SUFFIX)


def default_work_dir(output: Location, home: Path) -> Path:
    """`<output>.work` beside a local output; `<home>/batch/<hash of the URL>` for S3."""
    if not output.is_s3:
        return output.path.with_name(output.path.name + ".work")
    return Path(home) / "batch" / hashlib.sha256(output.url.encode("utf-8")).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (what identifies the input of a resumable run)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _s3(loc: Location, endpoint_url: str | None, region: str | None) -> tuple[S3Store, str]:
    bucket, key = loc.s3_parts()
    return S3Store(bucket, endpoint_url=endpoint_url, region=region), key


def fetch(loc: Location, folder: Path, endpoint_url: str | None = None, region: str | None = None) -> Path:
    """A local file holding the input: the path itself, or the S3 object downloaded into
    `folder` (BatchFormatError, bad input, for a local path that is no file; StoreError/NotFound
    when the S3 object cannot be read)."""
    if not loc.is_s3:
        if not loc.path.is_file():
            raise BatchFormatError(f"{loc.path}: no such input file")
        return loc.path
    store, key = _s3(loc, endpoint_url, region)
    target = folder / f"input-{loc.name}"
    store.get_file(key, target)
    return target


def staging_path(loc: Location, work_dir: Path) -> Path:
    """Where a finished file is written before `publish`: beside a local target (so that
    the rename is atomic), in the work folder for S3."""
    if loc.is_s3:
        return work_dir / f"output-{loc.name}"
    target = loc.path
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.part")


def publish(staged: Path, loc: Location, endpoint_url: str | None = None, region: str | None = None) -> None:
    """Put a file written at `staging_path(loc, ...)` at `loc`: renamed into place, or
    uploaded to S3 (StoreError when the upload fails; the staged file stays)."""
    if loc.is_s3:
        store, key = _s3(loc, endpoint_url, region)
        store.put_file(key, staged)
        staged.unlink(missing_ok=True)
        return
    os.replace(staged, loc.path)
