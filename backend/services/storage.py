"""Where file bytes live: a local directory (default) or an S3-compatible bucket, behind one small interface.

A writer receives an upload's bytes before its final key is known (the type, and so the key's extension,
may be decided only by the last byte); `commit(key)` makes them visible under the key, `abort()` leaves
nothing behind. Keys are the server's own (`<32 hex>.<ext>`), checked against one pattern before any
lookup, so no client input ever becomes a path.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from backend.config import Settings, get_settings
from backend.errors import NotConfigured, NotFound

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{1,5}$")
READ_CHUNK = 256 * 1024


def new_key(extension: str) -> str:
    return f"{secrets.token_hex(16)}.{extension}"


def valid_key(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


def _checked(key: str) -> str:
    if not valid_key(key):
        raise NotFound("No such file")
    return key


class StorageWriter(ABC):
    """Receives one upload's bytes in order. Exactly one of `commit` or `abort` ends it."""

    # The final key, when the caller knows it early: lets S3 upload parts straight to it (no copy).
    key_hint: str | None = None

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    @abstractmethod
    def commit(self, key: str) -> None: ...

    @abstractmethod
    def abort(self) -> None: ...


class Storage(ABC):
    @abstractmethod
    def writer(self) -> StorageWriter: ...

    @abstractmethod
    def open(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Opens the object now (NotFound if it is missing) and returns an iterator over the byte range."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...


class LocalStorage(Storage):
    """Files under `root/<first two hex>/<key>`; uploads in progress under `root/.incoming/`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.incoming = self.root / ".incoming"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / _checked(key)

    def writer(self) -> StorageWriter:
        self.incoming.mkdir(parents=True, exist_ok=True)
        return _LocalWriter(self)

    def open(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        try:
            handle = self.path(key).open("rb")
        except FileNotFoundError:
            raise NotFound("No such file") from None
        handle.seek(start)
        return _read(handle, length)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


def _read(handle: IO[bytes], length: int | None) -> Iterator[bytes]:
    try:
        remaining = length
        while remaining is None or remaining > 0:
            chunk = handle.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


class _LocalWriter(StorageWriter):
    def __init__(self, storage: LocalStorage) -> None:
        self.storage = storage
        self.temp = storage.incoming / f"{secrets.token_hex(16)}.part"
        self.handle = self.temp.open("xb")
        self.committed = False

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def commit(self, key: str) -> None:
        target = self.storage.path(key)
        self.handle.flush()
        os.fsync(self.handle.fileno())  # the row will say the file exists: keep that true after a power cut
        self.handle.close()
        target.parent.mkdir(exist_ok=True)
        os.replace(self.temp, target)
        self.committed = True

    def abort(self) -> None:
        self.handle.close()
        if not self.committed:
            self.temp.unlink(missing_ok=True)


class S3Storage(Storage):
    """Any S3-compatible store. Uploads above `part_size` go up as multipart uploads, so memory stays at
    about one part whatever the file's size; an aborted upload leaves no parts behind."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
        region: str = "us-east-1",
        part_size: int = 8 * 1024 * 1024,
    ) -> None:
        import boto3  # imported here: local-only installs never pay for it
        from botocore.config import Config

        if not bucket:
            raise NotConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET (and S3_ENDPOINT_URL for a non-AWS store)")
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"} if endpoint_url else {},
            retries={"max_attempts": 3, "mode": "standard"},
            # Newer boto3 adds CRC checksums that several S3-compatible stores reject; send them only if required.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.bucket, self.part_size = bucket, part_size
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            region_name=region,
            config=config,
        )

    def writer(self) -> StorageWriter:
        return _S3Writer(self)

    def open(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        extra = {}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            extra["Range"] = f"bytes={start}-{end}"
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=_checked(key), **extra)["Body"]
        except self.client.exceptions.NoSuchKey:
            raise NotFound("No such file") from None
        return _stream(body)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=_checked(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=_checked(key))
        except self.client.exceptions.ClientError:
            return False
        return True


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(READ_CHUNK)
    finally:
        body.close()


class _S3Writer(StorageWriter):
    def __init__(self, storage: S3Storage) -> None:
        self.s3, self.client, self.bucket = storage, storage.client, storage.bucket
        self.buffer = bytearray()
        self.upload_key: str | None = None
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= self.s3.part_size:
            part = bytes(self.buffer[: self.s3.part_size])
            del self.buffer[: self.s3.part_size]
            self._upload_part(part)

    def _upload_part(self, part: bytes) -> None:
        if self.upload_id is None:
            # The final key if known already; else a scratch key, copied (server-side) at commit.
            self.upload_key = self.key_hint or f"incoming/{secrets.token_hex(16)}"
            self.upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.upload_key)["UploadId"]
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.upload_key, UploadId=self.upload_id, PartNumber=number, Body=part
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self, key: str) -> None:
        _checked(key)
        if self.upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(self.buffer))
            self.buffer = bytearray()
            return
        if self.buffer:
            self._upload_part(bytes(self.buffer))
            self.buffer = bytearray()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.upload_key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )
        self.upload_id = None
        if self.upload_key != key:
            try:
                self.client.copy({"Bucket": self.bucket, "Key": self.upload_key}, self.bucket, key)
            finally:
                self.client.delete_object(Bucket=self.bucket, Key=self.upload_key)

    def abort(self) -> None:
        self.buffer = bytearray()
        if self.upload_id is not None:
            upload_id, self.upload_id = self.upload_id, None
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.upload_key, UploadId=upload_id)
            except Exception:  # the caller is already failing; a stale multipart upload is the bucket's to expire
                log.warning("could not abort multipart upload %s", upload_id, exc_info=True)


def build_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            region=settings.s3_region,
        )
    return LocalStorage(settings.upload_dir)


@lru_cache
def get_storage() -> Storage:
    """The configured backend, built once (tests switch backends by clearing this cache)."""
    return build_storage(get_settings())
