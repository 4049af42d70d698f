"""Trash survives the move: an export with `deleted=true` marks trashed records (`deleted_date`), and every import
path (script, admin API, Base44's `importEntities`) puts them back in the trash, not among the live records."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.database import get_sessionmaker, unit_of_work
from backend.services.entities import Actor
from backend.services.importer import import_entities_file
from backend.services.registry import get_spec
from tests.import_support import csv_text, run_script, stored, wipe_entities

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")  # Base44's timestamp form, as created_date
CONTACTS = [
    {"id": "c1", "full_name": "דנה", "phone": "+972501234567", "tags": ["VIP"], "hobby": "שחמט",
     "created_date": "2025-12-01T06:45:11.486000", "updated_date": "2025-12-02T06:45:11.486000"},
    {"id": "c2", "full_name": "יוסי", "created_date": "2025-12-03T06:45:11.486000"},
    {"id": "c3", "full_name": "שרה", "notes": "=1+1", "created_date": "2025-12-04T06:45:11.486000"},
]  # fmt: skip


def trash_times(entity: str = "Contact") -> dict[str, dt.datetime | None]:
    """id → deleted_at, straight from the database (None: live)."""
    model = get_spec(entity).model
    with get_sessionmaker()() as session:
        return {row.id: row.deleted_at for row in session.execute(select(model.id, model.deleted_at))}


def listed(client: Any, admin: dict[str, Any], suffix: str = "") -> list[str]:
    response = client.get(f"/api/contacts{suffix}", params={"sort": "created_date"}, headers=admin["headers"])
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()]


def seed_with_trash(client: Any, admin: dict[str, Any]) -> dict[str, dt.datetime | None]:
    response = client.post("/api/admin/import/Contact", json=CONTACTS, headers=admin["headers"])
    assert response.json()["created"] == 3, response.text
    for record_id in ("c2", "c3"):
        assert client.delete(f"/api/contacts/{record_id}", headers=admin["headers"]).status_code == 204
    times = trash_times()
    assert times["c1"] is None and times["c2"] is not None and times["c3"] is not None
    return times


def export(client: Any, admin: dict[str, Any], fmt: str, *, deleted: bool = True) -> bytes:
    params = {"format": fmt, "deleted": "true"} if deleted else {"format": fmt}
    response = client.get("/api/admin/export/Contact", params=params, headers=admin["headers"])
    assert response.status_code == 200, response.text
    return response.content


def marks(content: bytes, fmt: str) -> dict[str, str | None]:
    """id → the export's deleted_date for that record (None: no key in JSON / an empty cell in CSV)."""
    if fmt == "json":
        return {r["id"]: r.get("deleted_date") for r in json.loads(content)}
    header, *rows = list(csv.reader(csv_text(content)))
    assert header[-7:] == ["id", "created_date", "updated_date", "created_by_id", "created_by", "is_sample",
                           "deleted_date"]  # fmt: skip
    return {row[-7]: row[-1] or None for row in rows}


def import_into(client: Any, admin: dict[str, Any], how: str, fmt: str, content: bytes, folder: Path) -> None:
    name = "Contact_export.csv" if fmt == "csv" else "Contact.json"
    if how == "script":
        folder.mkdir()
        (folder / name).write_bytes(content)
        assert run_script(str(folder))[0] == 0
    elif how == "admin":
        files = {"file": (name, content, "text/csv" if fmt == "csv" else "application/json")}
        response = client.post("/api/admin/import/Contact", files=files, headers=admin["headers"])
        assert response.status_code == 200 and response.json()["rejected"] == 0, response.text
    else:
        with unit_of_work() as session:
            answer = import_entities_file(
                session, "Contact", content, filename=name, actor=Actor(admin["id"], admin["email"], None), trusted=True
            )
        assert answer["status"] == "success", answer
        output = {r["id"]: r.get("deleted_date") for r in answer["output"]}
        assert output["c1"] is None and output["c2"] is not None and output["c3"] is not None


@pytest.mark.parametrize("how", ["script", "admin", "importEntities"])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_exported_trash_imports_back_into_the_trash(
    client: Any, admin: dict[str, Any], tmp_path: Path, fmt: str, how: str
) -> None:
    times = seed_with_trash(client, admin)
    content = export(client, admin, fmt)
    marked = marks(content, fmt)
    assert marked["c1"] is None
    for record_id in ("c2", "c3"):
        assert STAMP.match(marked[record_id] or ""), marked
        assert dt.datetime.fromisoformat(marked[record_id] or "") == times[record_id]
    before = stored("Contact")

    wipe_entities()
    import_into(client, admin, how, fmt, content, tmp_path / "in")
    assert trash_times() == times  # trashed ones in the trash at their own time, the live one live
    assert listed(client, admin) == ["c1"]
    assert listed(client, admin, "/trash") == ["c2", "c3"]
    after = {record_id: r["record"] for record_id, r in stored("Contact").items()}
    assert all("deleted_date" not in r for r in after.values())  # never kept as an undeclared field
    assert after == {record_id: r["record"] for record_id, r in before.items()}
    assert export(client, admin, fmt) == content  # the next move carries the trash the same way
    # importing the same file again changes nothing
    response = client.post("/api/admin/import/Contact", files={"file": ("f", content)}, headers=admin["headers"])
    assert (response.json()["unchanged"], response.json()["updated"]) == (3, 0), response.text


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_export_without_the_trash_is_unchanged(client: Any, admin: dict[str, Any], fmt: str) -> None:
    seed_with_trash(client, admin)
    content = export(client, admin, fmt, deleted=False)
    assert b"deleted_date" not in content
    if fmt == "csv":
        header = next(csv.reader(csv_text(content)))
        assert header[-6:] == ["id", "created_date", "updated_date", "created_by_id", "created_by", "is_sample"]


def test_a_reimport_trashes_and_restores_by_id(client: Any, admin: dict[str, Any]) -> None:
    headers = admin["headers"]
    client.post("/api/admin/import/Contact", json=CONTACTS[:1], headers=headers)
    trashed = {**CONTACTS[0], "updated_date": "2025-12-05T08:00:00.000000", "deleted_date": "2025-12-05T08:00:00"}
    report = client.post("/api/admin/import/Contact", json=[trashed], headers=headers).json()
    assert report["updated"] == 1, report
    assert trash_times() == {"c1": dt.datetime(2025, 12, 5, 8)}
    assert listed(client, admin) == [] and listed(client, admin, "/trash") == ["c1"]
    # a row from before the trashing is stale: refused, the record stays in the trash
    stale = client.post("/api/admin/import/Contact", json=CONTACTS[:1], headers=headers).json()
    assert stale["rejected"] == 1 and "changed here after this export" in stale["rejections"][0]["reason"]
    assert trash_times()["c1"] is not None
    # a live row at least as new restores it (no key, null and "" all say "live")
    for day, live in enumerate(({}, {"deleted_date": None}, {"deleted_date": ""})):
        again = {**trashed, "updated_date": f"2025-12-1{day}T08:00:00.000000"}
        if day:
            assert client.post("/api/admin/import/Contact", json=[again], headers=headers).json()["updated"] == 1
            assert trash_times()["c1"] is not None
        restored = {**CONTACTS[0], "updated_date": f"2025-12-1{day}T09:00:00.000000", **live}
        report = client.post("/api/admin/import/Contact", json=[restored], headers=headers).json()
        assert report["updated"] == 1, report
        assert trash_times() == {"c1": None} and listed(client, admin) == ["c1"]
    assert "deleted_date" not in stored("Contact")["c1"]["record"]


def test_trash_of_a_document_entity_survives_too(client: Any, admin: dict[str, Any]) -> None:
    rows = [{"id": "l1", "name": "חי"}, {"id": "l2", "name": "בפח", "deleted_date": "2025-12-05T08:00:00.123456"}]
    report = client.post("/api/admin/import/Lead", json=rows, headers=admin["headers"]).json()
    assert report["created"] == 2, report
    assert list(stored("Lead", deleted=False)) == ["l1"]
    exported = json.loads(export_entity(client, admin, "Lead"))
    assert {r["id"]: r.get("deleted_date") for r in exported} == {"l1": None, "l2": "2025-12-05T08:00:00.123456"}
    assert "deleted_date" not in stored("Lead")["l2"]["record"]


def export_entity(client: Any, admin: dict[str, Any], entity: str) -> bytes:
    response = client.get(f"/api/admin/export/{entity}?deleted=true", headers=admin["headers"])
    assert response.status_code == 200, response.text
    return response.content


BAD = ["yesterday", "2025-13-45T99:00:00", 12345, {"at": 1}, ["2025-12-05"], True]


def test_a_bad_deleted_date_is_a_rejected_row_and_nothing_else(client: Any, admin: dict[str, Any]) -> None:
    headers = admin["headers"]
    client.post("/api/admin/import/Contact", json=CONTACTS[:1], headers=headers)
    before = stored("Contact")
    rows = [{**CONTACTS[0], "full_name": "שונה", "deleted_date": BAD[0]}]
    rows += [{"id": f"x{i}", "full_name": "x", "deleted_date": bad} for i, bad in enumerate(BAD[1:])]
    rows.append({"id": "ok", "full_name": "בסדר"})
    response = client.post("/api/admin/import/Contact", json=rows, headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["rejected"]) == (1, len(BAD)), report
    assert all(r["reason"].startswith("deleted_date: expected a date and time") for r in report["rejections"])
    assert set(stored("Contact")) == {"c1", "ok"} and stored("Contact")["c1"] == before["c1"]
    assert trash_times() == {"c1": None, "ok": None}
    # CSV: importEntities names the line and writes nothing; the admin import takes the other rows
    content = "\ufefffull_name,id,deleted_date\nדנה,c1,'=cmd|calc\nחדש,c9,\n"
    with get_sessionmaker()() as session:
        answer = import_entities_file(
            session, "Contact", content.encode(), filename="C.csv", actor=Actor(admin["id"], admin["email"], None),
            trusted=True,
        )  # fmt: skip
        session.rollback()
    assert answer["status"] == "error" and "line 2: deleted_date: expected a date and time" in answer["details"]
    files = {"file": ("Contact_export.csv", content.encode(), "text/csv")}
    report = client.post("/api/admin/import/Contact", files=files, headers=headers).json()
    assert (report["created"], report["rejected"]) == (1, 1), report
    assert stored("Contact")["c1"] == before["c1"] and trash_times()["c9"] is None
