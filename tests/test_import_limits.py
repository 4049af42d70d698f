"""`importEntities` (anyone's file) has the app's bulk limits: at most MAX_IMPORT_ROWS rows and MAX_IMPORT_BYTES
bytes, refused while streaming with a 413 and nothing written. The admin import keeps its streaming design
and no cap.

The issue: a non-admin imported 300,000 rows in one request; the worker grew from 157 to 438 MiB.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.database import get_sessionmaker
from backend.errors import PayloadTooLarge
from backend.models import Contact
from backend.services.entities import MAX_BULK, MAX_BULK_UPDATE, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS
from backend.services.importer.api import read_upload
from tests.conftest import assert_error

IMPORT = "/api/apps/a1/entities/Contact/import"


def _contacts() -> int:
    with get_sessionmaker()() as session:
        return int(session.scalar(select(func.count()).select_from(Contact)) or 0)


def _csv(rows: int) -> bytes:
    return ("full_name,city\n" + "".join(f"n{i},c\n" for i in range(rows))).encode()


def test_import_entities_refuses_one_row_past_the_limit_and_writes_nothing(client: Any, agent: dict[str, Any]) -> None:
    h = agent["headers"]
    response = client.post(IMPORT, headers=h, files={"file": ("Contact_export.csv", _csv(MAX_IMPORT_ROWS + 1))})
    body = assert_error(response, 413, "payload_too_large")
    assert str(MAX_IMPORT_ROWS) in body["message"]
    assert _contacts() == 0
    # the same with 300,000 rows (the run): refused, nothing written
    assert_error(client.post(IMPORT, headers=h, files={"file": ("c.csv", _csv(300_000))}), 413, "payload_too_large")
    assert _contacts() == 0


def test_import_entities_takes_exactly_the_limit(client: Any, agent: dict[str, Any]) -> None:
    response = client.post(IMPORT, headers=agent["headers"], files={"file": ("c.csv", _csv(MAX_IMPORT_ROWS))})
    assert response.status_code == 200 and response.json()["status"] == "success", response.text[:300]
    assert len(response.json()["output"]) == MAX_IMPORT_ROWS == _contacts()


def test_a_json_import_is_held_to_the_same_row_limit(client: Any, admin: dict[str, Any]) -> None:
    rows = ",".join('{"full_name": "n"}' for _ in range(MAX_IMPORT_ROWS + 1))
    response = client.post(IMPORT, headers=admin["headers"], files={"file": ("Contact.json", f"[{rows}]".encode())})
    assert_error(response, 413, "payload_too_large")
    assert _contacts() == 0


def test_import_entities_refuses_a_file_past_the_byte_limit(client: Any, agent: dict[str, Any]) -> None:
    big = b"full_name,notes\n" + b"n," + b"x" * (MAX_IMPORT_BYTES + 10) + b"\n"
    body = assert_error(client.post(IMPORT, headers=agent["headers"], files={"file": ("c.csv", big)}), 413,
                        "payload_too_large")  # fmt: skip
    assert str(MAX_IMPORT_BYTES) in body["message"]
    assert _contacts() == 0


def test_the_byte_limit_stops_reading_the_stream() -> None:
    """Refused while streaming: the rest of a 100 MiB upload is never read."""
    chunk = b"x" * 65536
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        head = b'--B\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n\r\n'
        yield head
        for _ in range(100 * 16):  # 100 MiB
            pulled += len(chunk)
            yield chunk

    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_upload(body(), "multipart/form-data; boundary=B", MAX_IMPORT_BYTES))
    assert pulled <= MAX_IMPORT_BYTES + 2 * 1024 * 1024


def test_the_other_bulk_paths_keep_their_limits(client: Any, agent: dict[str, Any]) -> None:
    h = agent["headers"]
    too_many = [{"full_name": "n"}] * (MAX_BULK + 1)
    assert_error(client.post("/api/apps/a1/entities/Contact/bulk", headers=h, json=too_many), 400, "bad_request")
    assert_error(client.post("/api/contacts/bulk", headers=h, json=too_many), 400, "bad_request")
    updates = [{"id": f"x{i}", "city": "c"} for i in range(MAX_BULK_UPDATE + 1)]
    assert_error(client.put("/api/apps/a1/entities/Contact/bulk", headers=h, json=updates), 400, "bad_request")
    assert _contacts() == 0


def test_the_admin_import_has_no_row_cap(client: Any, admin: dict[str, Any]) -> None:
    rows = "full_name,id\n" + "".join(f"n{i},c{i}\n" for i in range(MAX_IMPORT_ROWS + 1))
    files = {"file": ("Contact_export.csv", rows.encode())}
    response = client.post("/api/admin/import/Contact", headers=admin["headers"], files=files)
    assert response.status_code == 200 and response.json()["created"] == MAX_IMPORT_ROWS + 1, response.text[:300]
