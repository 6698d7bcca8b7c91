"""The artifact store on S3 or any S3-compatible server (boto3).

Files are streamed with boto3's managed transfers (multipart above `multipart_threshold`,
bounded memory: about `max_concurrency` x `multipart_chunksize`). Documents use S3
conditional writes: `IfNoneMatch='*'` to create, `IfMatch=<etag>` to replace; a lost race
(412 PreconditionFailed, 409 ConditionalRequestConflict) is a ConflictError. A corrupt
document cannot be replaced by mistake: `read_document` raises before giving out its ETag,
and a create (`IfNoneMatch='*'`) fails because the object exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mlops.adapters.store.base import ArtifactStore, ConflictError, NotFound, StoreError
from mlops.adapters.store.documents import decode_document, encode_document
from mlops.adapters.store.local import validate_key, validate_prefix

_MB = 1024 * 1024
DEFAULT_TRANSFER = TransferConfig(
    multipart_threshold=16 * _MB,
    multipart_chunksize=8 * _MB,
    max_concurrency=4,
    max_io_queue=16,
    io_chunksize=256 * 1024,
)
_MISSING = {"NoSuchKey", "404", "NotFound"}
_CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class S3Store(ArtifactStore):
    """Objects under `s3://bucket/prefix/`; keys are relative to the prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        transfer_config: TransferConfig | None = None,
    ) -> None:
        if not bucket:
            raise StoreError("an S3 store needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.transfer_config = transfer_config or DEFAULT_TRANSFER
        if client is None:
            region = (
                region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            )
            config = Config(
                retries={"max_attempts": 5, "mode": "standard"},
                # S3-compatible servers (moto, MinIO) want path-style addressing.
                s3={"addressing_style": "path"} if endpoint_url else {},
            )
            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
        self.client = client

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    def _key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _error(self, key: str, action: str, exc: Exception) -> StoreError:
        return StoreError(f"{key}: cannot {action} {self.url}: {exc}")

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(key, "write to", exc) from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound(f"{key}: no such object in {self.url}") from exc
            raise self._error(key, "read from", exc) from exc
        except BotoCoreError as exc:
            raise self._error(key, "read from", exc) from exc

    def put_file(self, key: str, path: str | Path) -> None:
        if not Path(path).is_file():
            raise StoreError(f"{key}: cannot read local file {path}: not a file")
        try:
            self.client.upload_file(str(path), self.bucket, self._key(key), Config=self.transfer_config)
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise self._error(key, "upload to", exc) from exc

    def get_file(self, key: str, path: str | Path) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            # download_file writes a temporary file and renames it into place.
            self.client.download_file(self.bucket, self._key(key), str(target), Config=self.transfer_config)
        except ClientError as exc:
            if _code(exc) in _MISSING or _status(exc) == 404:
                raise NotFound(f"{key}: no such object in {self.url}") from exc
            raise self._error(key, "download from", exc) from exc
        except BotoCoreError as exc:
            raise self._error(key, "download from", exc) from exc

    def list(self, prefix: str = "") -> list[str]:
        root = f"{self.prefix}/" if self.prefix else ""
        keys: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root + validate_prefix(prefix)
            )
            for page in pages:
                keys.extend(item["Key"][len(root) :] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(prefix or "(all keys)", "list", exc) from exc
        return sorted(keys)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if _code(exc) in _MISSING or _status(exc) == 404:
                return False
            raise self._error(key, "check", exc) from exc
        except BotoCoreError as exc:
            raise self._error(key, "check", exc) from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(key, "delete from", exc) from exc

    def read_document(self, key: str) -> tuple[Any, str | None]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            data = response["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None, None
            raise self._error(key, "read from", exc) from exc
        except BotoCoreError as exc:
            raise self._error(key, "read from", exc) from exc
        return decode_document(key, data, self.url), response["ETag"]

    def write_document(self, key: str, document: Any, expected_tag: str | None) -> str:
        data = encode_document(key, document)
        condition = {"IfNoneMatch": "*"} if expected_tag is None else {"IfMatch": expected_tag}
        try:
            response = self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType="application/json", **condition
            )
        except ClientError as exc:
            code, status = _code(exc), _status(exc)
            if code in _CONFLICT or status in (409, 412):
                raise ConflictError(
                    f"{key}: changed since it was read (expected tag {expected_tag})"
                ) from exc
            if expected_tag is not None and (code in _MISSING or status == 404):
                raise ConflictError(f"{key}: deleted since it was read") from exc
            raise self._error(key, "write to", exc) from exc
        except BotoCoreError as exc:
            raise self._error(key, "write to", exc) from exc
        return response["ETag"]
