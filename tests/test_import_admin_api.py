"""The admin import/export API (API.md §8) and Base44's `importEntities(file)` service function (§7.1)."""

from __future__ import annotations

import csv
import json
from typing import Any

import anyio
import pytest

from backend.database import get_sessionmaker, unit_of_work
from backend.services.auth import AuthUser, authenticate
from backend.services.entities import Actor
from backend.services.importer import import_entities_file, import_entities_upload
from tests.conftest import assert_error
from tests.import_support import csv_text, stored

RECORDS = [
    {"id": "6801309791850cc36c8c0101", "full_name": "דנה", "phone": "+972501234567", "tags": ["VIP"],
     "created_date": "2025-12-01T06:45:11.486000", "updated_date": "2025-12-02T06:45:11.486000",
     "created_by": "dana@office.co.il", "created_by_id": "u1", "is_sample": False},
    {"id": "6801309791850cc36c8c0102", "full_name": "", "created_date": "2025-12-01T06:45:11.486000"},
]  # fmt: skip


def test_import_and_export_need_an_admin(client: Any, agent: dict[str, Any]) -> None:
    for method, url in (("post", "/api/admin/import/Contact"), ("get", "/api/admin/export/Contact")):
        assert_error(getattr(client, method)(url), 401, "unauthorized")
        assert_error(getattr(client, method)(url, headers=agent["headers"]), 403, "forbidden")
    assert_error(client.post("/api/admin/import/Contact", json=RECORDS, headers=agent["headers"]), 403, "forbidden")
    assert stored("Contact") == {}


def test_admin_imports_a_json_array(client: Any, admin: dict[str, Any]) -> None:
    response = client.post("/api/admin/import/Contact", json=RECORDS, headers=admin["headers"])
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["read"], report["created"], report["rejected"]) == (2, 1, 1)
    assert report["rejections"] == [
        {"row": "record 2", "id": "6801309791850cc36c8c0102", "reason": "full_name: required"}
    ]
    record = stored("Contact")["6801309791850cc36c8c0101"]["record"]
    assert record["created_by"] == "dana@office.co.il" and record["created_by_id"] == "u1"
    assert record["tags"] == ["VIP"] and record["updated_date"].isoformat() == "2025-12-02T06:45:11.486000"
    # through the API, the built-ins come back exactly as Base44 had them
    got = client.get("/api/contacts/6801309791850cc36c8c0101", headers=admin["headers"]).json()
    assert got["created_date"] == "2025-12-01T06:45:11.486000" and got["created_by_id"] == "u1"
    again = client.post("/api/admin/import/Contact", json=RECORDS[:1], headers=admin["headers"]).json()
    assert (again["unchanged"], again["created"], again["updated"]) == (1, 0, 0)


def test_admin_dry_run_writes_nothing(client: Any, admin: dict[str, Any]) -> None:
    response = client.post("/api/admin/import/Lead?dry_run=true", json=RECORDS, headers=admin["headers"])
    assert response.status_code == 200
    assert response.json()["created"] == 2  # Lead is unmodelled: no required fields
    assert stored("Lead") == {}


def test_admin_import_bad_input(client: Any, admin: dict[str, Any]) -> None:
    headers = admin["headers"]
    assert_error(client.post("/api/admin/import/Contact", json={"id": "x"}, headers=headers), 422, "validation_error")
    bad_json = {**headers, "Content-Type": "application/json"}
    assert_error(client.post("/api/admin/import/Contact", content=b"[{", headers=bad_json), 400, "bad_request")
    assert_error(client.post("/api/admin/import/contacts", json=[], headers=headers), 400, "bad_request")
    assert_error(client.post("/api/admin/import/User", json=[], headers=headers), 404, "not_found")
    assert_error(client.get("/api/admin/export/Contact?format=xml", headers=headers), 422, "validation_error")
    assert_error(client.get("/api/admin/export/..%2Fetc", headers=headers), 404, "not_found")


def test_admin_imports_an_uploaded_file(client: Any, admin: dict[str, Any]) -> None:
    csv_bytes = "\ufefffull_name,phone,id\nדנה,'+972501234567,c1\n".encode()
    files = {"file": ("Contact_export.csv", csv_bytes, "text/csv")}
    response = client.post("/api/admin/import/Contact", files=files, headers=admin["headers"])
    assert response.status_code == 200, response.text
    assert stored("Contact")["c1"]["record"]["phone"] == "+972501234567"
    broken = {"file": ("Contact_export.csv", "full_name,id\nשרה,c2\n".encode("utf-16"), "text/csv")}
    body = assert_error(client.post("/api/admin/import/Contact", files=broken, headers=admin["headers"]), 422,
                        "validation_error")  # fmt: skip
    assert "UTF-16" in body["message"]
    assert list(stored("Contact")) == ["c1"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_includes_the_trash_only_when_asked(client: Any, admin: dict[str, Any], fmt: str) -> None:
    client.post("/api/admin/import/Contact", json=[*RECORDS[:1], {"id": "c2", "full_name": "זמני"}],
                headers=admin["headers"])  # fmt: skip
    assert client.delete("/api/contacts/c2", headers=admin["headers"]).status_code == 204
    live = client.get(f"/api/admin/export/Contact?format={fmt}", headers=admin["headers"])
    everything = client.get(f"/api/admin/export/Contact?format={fmt}&deleted=true", headers=admin["headers"])
    assert live.status_code == everything.status_code == 200
    assert _ids(live.content, fmt) == ["6801309791850cc36c8c0101"]
    assert sorted(_ids(everything.content, fmt)) == ["6801309791850cc36c8c0101", "c2"]


def _ids(content: bytes, fmt: str) -> list[str]:
    if fmt == "json":
        return [r["id"] for r in json.loads(content)]
    rows = list(csv.reader(csv_text(content)))
    return [row[rows[0].index("id")] for row in rows[1:]]


def authenticate_token(token: str) -> AuthUser:
    with get_sessionmaker()() as session:
        return authenticate(session, token)


def _actor(user: dict[str, Any]) -> Actor:
    return Actor(user["id"], user["email"], None)


def test_import_entities_as_admin_keeps_ids_and_adds_new_rows(admin: dict[str, Any]) -> None:
    content = "full_name,phone,id,created_by\nדנה,'+97250,c1,dana@office.co.il\nחדש,052,,\n".encode()
    with unit_of_work() as session:  # the request's part: the owner commits (or rolls back a refused import)
        answer = import_entities_file(session, "Contact", content, filename="c.csv", actor=_actor(admin), trusted=True)
    assert answer["status"] == "success", answer
    assert [r["full_name"] for r in answer["output"]] == ["דנה", "חדש"]
    records = {r["record"]["full_name"]: r["record"] for r in stored("Contact").values()}
    assert records["דנה"]["id"] == "c1" and records["דנה"]["created_by"] == "dana@office.co.il"
    assert len(records["חדש"]["id"]) == 24 and records["חדש"]["created_by"] == admin["email"]


def test_import_entities_as_agent_creates_new_records_only(agent: dict[str, Any]) -> None:
    content = json.dumps([{"id": "c1", "full_name": "דנה", "created_by": "someone@else", "is_sample": True}]).encode()
    with unit_of_work() as session:
        answer = import_entities_file(
            session, "Contact", content, filename="c.json", actor=_actor(agent), trusted=False
        )
    assert answer["status"] == "success"
    (record,) = [r["record"] for r in stored("Contact").values()]
    assert record["id"] != "c1" and record["created_by"] == agent["email"] and record["is_sample"] is False
    assert answer["output"][0]["id"] == record["id"]


def test_import_entities_refuses_a_broken_file_whole(admin: dict[str, Any]) -> None:
    cases = {
        "bad row": "full_name,budget,id\nדנה,100,c1\nשרה,abc,c2\n".encode(),
        "not utf-8": "full_name,id\nדנה,c1\n".encode("cp1255"),
        "not csv": b"\x89PNG\r\n\x1a\n" + bytes(64),
    }
    answers = {}
    for label, content in cases.items():
        with unit_of_work() as session:
            entity = "Client" if label == "bad row" else "Contact"
            answer = import_entities_file(session, entity, content, filename="x.csv", actor=_actor(admin), trusted=True)
        assert answer["status"] == "error" and answer["output"] is None, label
        answers[label] = answer["details"]
    assert (
        "line 3: budget: expected a whole number" in answers["bad row"] and "nothing was imported" in answers["bad row"]
    )
    assert "not UTF-8" in answers["not utf-8"] and "binary" in answers["not csv"]
    assert stored("Client") == {} and stored("Contact") == {}


def test_import_entities_upload_reads_a_multipart_body(admin: dict[str, Any]) -> None:
    boundary = "b0undary"
    payload = "\ufefffull_name,id\nדנה,c1\n".encode()
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="Contact.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )

    async def chunks() -> Any:
        yield body[:10]
        yield body[10:]

    user = authenticate_token(admin["token"])

    async def call() -> dict[str, Any]:
        with unit_of_work() as session:  # the request's
            return await import_entities_upload(session, chunks(), f"multipart/form-data; boundary={boundary}",
                                                entity="Contact", user=user)  # fmt: skip

    answer = anyio.run(call)
    assert answer["status"] == "success" and answer["output"][0]["id"] == "c1"
    assert list(stored("Contact")) == ["c1"]
