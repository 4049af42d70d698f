"""Shared by the file tests: an S3-compatible server (moto, on loopback), the backend switch, and helpers."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import select

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models.file import StoredFile
from backend.services.filetypes import DOCX, XLSX
from backend.services.storage import LocalStorage, S3Storage, get_storage

BUCKET = "crm-test-files"
S3_KEYS = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone S3 server in a thread on a free loopback port: real HTTP, no in-process patching."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: Any, monkeypatch: Any, tmp_path: Path) -> Iterator[Any]:
    """Runs a test once per storage backend, each starting empty."""
    settings = get_settings()
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        values = {"storage_backend": "s3", "s3_endpoint_url": endpoint, "s3_bucket": BUCKET, **S3_KEYS}
    else:
        values = {"storage_backend": "local", "upload_dir": str(tmp_path / "uploads")}
    for name, value in values.items():
        monkeypatch.setattr(settings, name, value)
    get_storage.cache_clear()
    backend = get_storage()
    yield backend
    if isinstance(backend, S3Storage):
        for key in stored_objects(backend):
            backend.client.delete_object(Bucket=BUCKET, Key=key)
    get_storage.cache_clear()


def stored_objects(backend: Any) -> list[str]:
    """Every object in the storage root: committed files, scratch files, and unfinished multipart uploads."""
    if isinstance(backend, LocalStorage):
        if not backend.root.exists():
            return []
        return sorted(str(p.relative_to(backend.root)) for p in backend.root.rglob("*") if not p.is_dir())
    listing = backend.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    uploads = backend.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    return sorted([o["Key"] for o in listing] + [f"multipart:{u['Key']}" for u in uploads])


def committed_path(key: str) -> str:
    return f"{key[:2]}/{key}"


def file_rows() -> list[StoredFile]:
    with get_sessionmaker()() as session:
        return list(session.scalars(select(StoredFile)))


def png(size: int = 2000) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)


def pdf(size: int = 2000) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size - 9)


def office_zip(kind: str, padding: int = 0) -> bytes:
    """A minimal docx/xlsx; `padding` random bytes stored first push the telling entries far in."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if padding:
            archive.writestr(zipfile.ZipInfo("docProps/thumbnail.jpeg"), os.urandom(padding))
        archive.writestr("[Content_Types].xml", "<Types/>", zipfile.ZIP_DEFLATED)
        part = "word/document.xml" if kind == "docx" else "xl/workbook.xml"
        archive.writestr(part, "<document/>", zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


OFFICE_TYPES = {"docx": DOCX, "xlsx": XLSX}


def ole(name: str) -> bytes:
    """A minimal OLE compound file whose first directory entry (sector 0, at 512) is `name`."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * (512 - 8)
    entry = (name + "\0").encode("utf-16-le").ljust(128, b"\x00")
    return header + entry + b"\x00" * (512 - 128) + os.urandom(1024)


def multipart(parts: list[tuple[bytes, bytes | None, bytes]], boundary: bytes = b"b0undary") -> tuple[bytes, str]:
    """A body built byte for byte (so hostile names arrive exactly as written): (disposition, type, data)."""
    body = b""
    for disposition, ctype, data in parts:
        body += b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n"
        if ctype is not None:
            body += b"Content-Type: " + ctype + b"\r\n"
        body += b"\r\n" + data + b"\r\n"
    return body + b"--" + boundary + b"--\r\n", f"multipart/form-data; boundary={boundary.decode()}"


def upload(
    client: Any, user: dict[str, Any], data: bytes, name: str = "photo.png", ctype: str = "image/png", **params: Any
) -> Any:
    return client.post("/api/upload", headers=user["headers"], files={"file": (name, data, ctype)}, params=params)


def path_of(url: str) -> str:
    """A file_url is absolute (PUBLIC_URL); the test client takes its path and query."""
    base = get_settings().public_url.rstrip("/")
    assert url.startswith(base + "/api/files/"), url
    return url[len(base) :]
