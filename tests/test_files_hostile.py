"""Files under attack: lying types, hostile names, oversize and broken bodies, keys with path characters.
Every refusal is a 4xx with the error body and leaves no byte in storage and no row."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy.exc import OperationalError

from backend.config import get_settings
from backend.services import files as file_service
from tests import files_support
from tests.conftest import assert_error
from tests.files_support import (
    file_rows,
    multipart,
    office_zip,
    ole,
    path_of,
    pdf,
    png,
    stored_objects,
    upload,
)

# The backend-switching fixtures (pytest finds them by these names).
s3_endpoint = files_support.s3_endpoint
storage = files_support.storage

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + os.urandom(4000)
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + os.urandom(4000)


def assert_nothing_stored(backend: Any) -> None:
    assert stored_objects(backend) == []
    assert file_rows() == []


@pytest.mark.parametrize(
    ("data", "name", "ctype", "refused_before_writing"),
    [
        (ELF, "photo.jpg", "image/jpeg", True),  # an executable dressed as a photo
        (ELF + os.urandom(2_000_000), "photo.jpg", "image/jpeg", True),
        (PE, "photo.jpg", "application/octet-stream", True),
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 4000, "scan.pdf", "application/pdf", True),
        (pdf(), "photo.png", "image/png", True),  # a real PDF sent as an image: the claim is a lie
        (b"<html><script>alert(1)</script></html>", "cat.png", "image/png", True),
        (office_zip("docx"), "cat.jpg", "image/jpeg", True),
        ("שלום, עולם\n".encode("cp1255"), "legacy.csv", "text/csv", True),  # not UTF-8
        ("hello".encode("utf-16"), "wide.txt", "text/plain", True),  # NUL bytes
        (ole("\x05SummaryInformation"), "setup.doc", "application/msword", True),  # OLE, no Word/Excel stream
        (b"a" * 5000 + b"\x00" + b"a" * 5000, "late-nul.txt", "text/plain", True),  # one batch, sniffed first
        # A container is judged by its entries at the end, after its bytes went to storage: they must go again.
        (b"PK\x03\x04" + b"\x14\x00" * 20 + b"evil.exe" + os.urandom(5000), "archive.zip", "application/zip", False),
        (b"PK\x03\x04" + b"\x14\x00" * 20 + b"evil.exe" + os.urandom(3_000_000), "big.zip", "application/zip", False),
        (ole("\x05SummaryInformation") + os.urandom(3_000_000), "big.doc", "application/msword", False),
        # Past the first 1 MiB batch: written first or not depends on how the body arrives in pieces.
        (b"a" * 2_000_000 + b"\xff", "late-binary.txt", "text/plain", None),
    ],
)
def test_content_decides_and_refusals_leave_nothing(
    client: Any,
    agent: dict[str, Any],
    storage: Any,
    monkeypatch: Any,
    data: bytes,
    name: str,
    ctype: str,
    refused_before_writing: bool | None,
) -> None:
    written = _counting_writes(storage, monkeypatch)
    body = assert_error(upload(client, agent, data, name=name, ctype=ctype), 415, "unsupported_media_type")
    assert "allowed" in body["message"] or "UTF-8" in body["message"] or "sent as" in body["message"]
    assert_nothing_stored(storage)
    if refused_before_writing is not None:
        assert (sum(written) == 0) is refused_before_writing


def test_executable_is_named_in_the_refusal(client: Any, agent: dict[str, Any]) -> None:
    body = assert_error(upload(client, agent, ELF, name="photo.jpg", ctype="image/jpeg"), 415, "unsupported_media_type")
    assert "ELF executable" in body["message"]


def test_a_type_missing_from_the_allowed_list_is_refused(client: Any, agent: dict[str, Any], monkeypatch: Any) -> None:
    monkeypatch.setattr(get_settings(), "upload_allowed_types", "image/png")
    assert_error(upload(client, agent, pdf(), name="a.pdf", ctype="application/pdf"), 415, "unsupported_media_type")
    assert upload(client, agent, png()).status_code == 201


@pytest.mark.parametrize(
    ("data", "name", "ctype", "stored_type"),
    [
        (png(), "upload.bin", "application/octet-stream", "image/png"),  # no claim: the content decides
        (b"\xff\xd8\xff\xe0" + os.urandom(3000), "photo.png", "image/png", "image/jpeg"),  # an image is an image
        (b"name,phone\nDana,050\n", "export.csv", "application/vnd.ms-excel", "text/csv"),  # Windows' CSV claim
    ],
)
def test_harmless_claims_are_corrected_not_refused(
    client: Any, agent: dict[str, Any], data: bytes, name: str, ctype: str, stored_type: str
) -> None:
    response = upload(client, agent, data, name=name, ctype=ctype)
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == file_rows()[0].content_type == stored_type


@pytest.mark.parametrize(
    ("raw_name", "expected"),
    [
        (b"../../../../etc/passwd.png", "passwd.png"),
        (b"..\\..\\Windows\\win.ini", "win.ini.png"),
        (b"a\x00b.png", "ab.png"),
        ("invoice\u202egnp.exe".encode(), "invoicegnp.exe.png"),  # RTL override hid the real extension
        ("\u200fחוזה\u200e שכירות.png".encode(), "חוזה שכירות.png"),
        (b"x" * 1000 + b".png", "x" * 251 + ".png"),
        ("ש".encode() * 600 + b".png", "ש" * 125 + ".png"),  # cut on a character boundary
        (b"CON.png", "_CON.png"),
        (b"..", "file.png"),
        (b"", "file.png"),
        (b'<img src=x onerror="alert(1)">.png', "_img src=x onerror=_alert(1)__.png"),
    ],
)
def test_hostile_names_are_stored_safely(
    client: Any, agent: dict[str, Any], storage: Any, tmp_path: Path, raw_name: bytes, expected: str
) -> None:
    escaped = raw_name.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    body, ctype = multipart([(b'form-data; name="file"; filename="' + escaped + b'"', b"image/png", png())])
    response = client.post("/api/upload", headers={**agent["headers"], "Content-Type": ctype}, content=body)
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["file_name"] == expected == file_rows()[0].name
    assert len(expected.encode()) <= 255
    # The name never became a path: the only object is the random key, nothing beside the storage root.
    assert [p.rsplit("/", 1)[-1] for p in stored_objects(storage)] == [record["file_uri"]]
    if storage.__class__.__name__ == "LocalStorage":
        assert sorted(p.name for p in tmp_path.iterdir()) == ["uploads"]
    served = client.get(path_of(record["file_url"]))
    disposition = served.headers["content-disposition"]
    assert disposition.isascii() and "\r" not in disposition and "\n" not in disposition


def _counting_writes(storage: Any, monkeypatch: Any) -> list[int]:
    written: list[int] = []
    make_writer = storage.writer

    def writer() -> Any:
        inner = make_writer()
        real_write = inner.write

        def write(data: bytes) -> None:
            written.append(len(data))
            real_write(data)

        inner.write = write
        return inner

    monkeypatch.setattr(storage, "writer", writer)
    return written


def test_oversize_is_refused_while_streaming_and_leaves_nothing(
    client: Any, agent: dict[str, Any], storage: Any, monkeypatch: Any
) -> None:
    limit = 9 * 1024 * 1024  # past one S3 part, so a multipart upload is under way when the limit hits
    monkeypatch.setattr(get_settings(), "upload_max_bytes", limit)
    written = _counting_writes(storage, monkeypatch)

    # The test client hands the app the whole body at once; a server hands it over in pieces, as here.
    def save(size: int) -> Any:
        body, ctype = multipart([(b'form-data; name="file"; filename="big.png"', b"image/png", png(size))])

        async def pieces() -> Any:
            for start in range(0, len(body), 65_536):
                yield body[start : start + 65_536]

        return anyio.run(lambda: file_service.save_upload(pieces(), ctype, user=None))

    with pytest.raises(file_service.PayloadTooLarge):
        save(limit + 1)
    assert 0 < sum(written) <= limit  # streaming had begun, and not one byte past the limit was written
    assert_nothing_stored(storage)

    written.clear()
    record = save(limit)
    assert record["size"] == limit and sum(written) == limit
    assert stored_objects(storage) != [] and len(file_rows()) == 1

    # Over HTTP too: 413 with the error body.
    assert_error(upload(client, agent, png(limit + 1)), 413, "payload_too_large")
    assert len(file_rows()) == 1


def test_oversize_without_content_length_and_with_a_huge_one(
    client: Any, agent: dict[str, Any], storage: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(get_settings(), "upload_max_bytes", 100_000)
    body, ctype = multipart([(b'form-data; name="file"; filename="a.png"', b"image/png", png(300_000))])
    headers = {**agent["headers"], "Content-Type": ctype}

    def chunked() -> Any:  # no Content-Length: only counting can stop it
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]

    assert_error(client.post("/api/upload", headers=headers, content=chunked()), 413, "payload_too_large")
    big = headers | {"Content-Length": str(50 * 1024 * 1024)}
    assert_error(client.post("/api/upload", headers=big, content=b"x"), 413, "payload_too_large")
    assert_nothing_stored(storage)


def test_missing_empty_and_broken_bodies(client: Any, agent: dict[str, Any], storage: Any) -> None:
    headers = agent["headers"]
    note, ctype = multipart([(b'form-data; name="note"', None, b"hello")])
    body = assert_error(
        client.post("/api/upload", headers={**headers, "Content-Type": ctype}, content=note), 422, "validation_error"
    )
    assert body["detail"][0]["loc"] == ["body", "file"]
    assert_error(client.post("/api/upload", headers=headers, json={"file": "x"}), 422, "validation_error")
    assert_error(client.post("/api/upload", headers=headers), 422, "validation_error")

    empty = assert_error(upload(client, agent, b""), 422, "validation_error")
    assert empty["detail"][0]["loc"] == ["body", "file"]

    full, ctype = multipart([(b'form-data; name="file"; filename="a.png"', b"image/png", png(50_000))])
    truncated = full[: len(full) // 2]  # the connection dropped mid-file
    response = client.post("/api/upload", headers={**headers, "Content-Type": ctype}, content=truncated)
    assert_error(response, 400, "bad_request")
    no_boundary = {**headers, "Content-Type": "multipart/form-data"}
    assert_error(client.post("/api/upload", headers=no_boundary, content=full), 400, "bad_request")
    garbage = {**headers, "Content-Type": "multipart/form-data; boundary=" + "x" * 300}
    assert_error(client.post("/api/upload", headers=garbage, content=full), 400, "bad_request")
    assert_nothing_stored(storage)


def test_a_failed_metadata_row_leaves_no_orphan_bytes(
    client: Any, agent: dict[str, Any], storage: Any, monkeypatch: Any
) -> None:
    class BrokenSession:
        def __enter__(self) -> BrokenSession:
            return self

        def __exit__(self, *exc: Any) -> None:
            return None

        def add(self, _row: Any) -> None:
            return None

        def commit(self) -> None:
            raise OperationalError("INSERT INTO files", {}, Exception("database went away"))

    @contextmanager
    def broken_unit_of_work(*_: Any) -> Iterator[BrokenSession]:
        session = BrokenSession()
        yield session
        session.commit()

    monkeypatch.setattr(file_service, "unit_of_work", broken_unit_of_work)
    assert_error(upload(client, agent, png()), 503, "service_unavailable")
    assert stored_objects(storage) == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/files/..%2F..%2Fetc%2Fpasswd",
        "/api/files/%2e%2e",
        "/api/files/..%5C..%5Cwindows",
        "/api/files/%00",
        "/api/files/" + "A" * 32 + ".png",  # upper case is not a key we make
        "/api/files/" + "0" * 32 + ".png%00.txt",
        "/api/files/" + "0" * 32,
        "/api/files/" + "0" * 5000,
    ],
)
def test_keys_with_path_characters_are_404(client: Any, agent: dict[str, Any], path: str) -> None:
    assert_error(client.get(path), 404, "not_found")
    assert_error(client.get(path, headers=agent["headers"]), 404, "not_found")
