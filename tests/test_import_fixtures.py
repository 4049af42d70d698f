"""The Base44 import against fixtures that look exactly like real exports (tests/fixtures/base44_export/): the 24
entities of the office's frontend, and a 25th the server does not declare, typed by the export's schema file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.database import get_sessionmaker
from backend.models import Document, StoredSchema
from backend.models.user import User
from backend.services.auth import redeem_reset
from backend.services.importer.plan import frontend_entities
from tests.fixtures.base44_data import ALL, DANA, DANGLING, DECLARED, SCHEMAS, UNDECLARED
from tests.fixtures.make_base44_export import files
from tests.import_support import FIXTURES, ROOT, differences, run_script, snapshot, stored

FRONTEND = ROOT / "tests" / "fixtures" / "base44-export"


def test_fixtures_are_what_the_generator_writes() -> None:
    """The committed files are the generator's output (so the truth in base44_data.py is the truth of the files)."""
    written = files()
    assert sorted(written) == sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*") if p.is_file())
    for name, data in written.items():
        assert (FIXTURES / name).read_bytes() == data, name
    assert set(DECLARED) == set(frontend_entities(FRONTEND))  # the office's own 24, every one declared here
    assert len(ALL) == 25 and set(UNDECLARED) == set(SCHEMAS) == {"Commission"}
    assert {f.fmt for f in ALL.values()} == {"csv", "json"} and {f.style for f in ALL.values()} >= {
        "dashboard",
        "excel",
    }


def test_full_import_keeps_everything_field_by_field(capsys: Any) -> None:
    code, out = run_script(str(FIXTURES), capsys=capsys)
    assert code == 0, out
    problems = [p for entity in ALL for p in differences(entity, stored(entity))]
    assert problems == []
    for entity, fixture in ALL.items():
        records = stored(entity)
        assert {r["version"] for r in records.values()} == {1}, entity
        assert len(records) == len(fixture.records)
    # the table names each entity with what happened to it
    assert "Contact_export.csv" in out and "Meeting.json" in out
    assert out.rstrip().endswith("25 entities imported, 0 not found.")
    contact = stored("Contact")["6801309791850cc36c8c0102"]["record"]
    assert contact["notes"] == "=cmd|' /C calc'!A0"  # Base44's `'` dropped, the value kept as data
    assert contact["social"] == {"facebook": "https://facebook.com/yossi", "followers": 120}
    tenant = stored("Tenant")["6801309791850cc36c8c0712"]["record"]
    assert tenant["handler"] == "-" and tenant["monthly_rent"] is None  # `'-` is text; an empty number is null


def test_undeclared_entity_is_typed_by_its_schema_file(capsys: Any) -> None:
    """Commission is in no declaration: its records go to the document store, typed by entities/Commission.json
    (CSV "3" → 3, "true" → true, JSON text → object), while its columns the schema lacks stay text."""
    code, out = run_script(str(FIXTURES), capsys=capsys)
    assert code == 0, out
    assert "Schema files stored: Commission (Commission.json)" in out
    with get_sessionmaker()() as session:
        assert set(session.scalars(select(Document.entity_name).distinct())) == set(UNDECLARED)
        assert set(session.scalars(select(StoredSchema.name))) == set(SCHEMAS)
    first, second = (stored("Commission")[f"6801309791850cc36c8c078{n}"]["record"] for n in (1, 2))
    assert (first["amount"], first["installments"], first["paid"]) == (63000.0, 3, True)
    assert first["split"] == {"דנה": 0.6, "יוסי": 0.4} and first["invoice"] == "INV-2025-001"
    assert (second["amount"], second["paid"]) == (1500.0, False)
    metrics = stored("CampaignMetrics")["6801309791850cc36c8c07e1"]["record"]
    assert (metrics["sent_count"], metrics["active"]) == ("220", "true")  # undeclared and untyped: text as given


def test_second_import_changes_nothing(capsys: Any) -> None:
    assert run_script(str(FIXTURES), capsys=capsys)[0] == 0
    before = snapshot()
    code, out = run_script(str(FIXTURES), "--report", str(FIXTURES.parent / "unused.json"), capsys=capsys)
    report_path = FIXTURES.parent / "unused.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    finally:
        report_path.unlink()
    assert code == 0, out
    assert snapshot() == before  # values, dates and versions untouched
    for entity in report["entities"]:
        assert entity["created"] == entity["updated"] == entity["rejected"] == 0, entity
        assert entity["unchanged"] == entity["read"] == len(ALL[entity["entity"]].records)


def test_dangling_references_are_listed(capsys: Any) -> None:
    code, out = run_script(str(FIXTURES), capsys=capsys)
    assert code == 0
    for entity, field, value in DANGLING:
        assert f"{field} = {value}" in out, (entity, field, value)
    assert out.count("reference(s) to records that do not exist") == len(DANGLING)


def test_dry_run_writes_nothing_and_reports_the_same(capsys: Any, tmp_path: Path) -> None:
    code, out = run_script(str(FIXTURES), "--dry-run", "--report", str(tmp_path / "r.json"), capsys=capsys)
    assert code == 0, out
    assert "DRY RUN" in out
    assert all(stored(entity) == {} for entity in ALL)
    with get_sessionmaker()() as session:
        assert session.scalar(select(StoredSchema.name)) is None  # the schema file is checked, not stored
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    created = {e["entity"]: e["created"] for e in report["entities"]}
    assert created == {entity: len(f.records) for entity, f in ALL.items()}
    # a dry run resolves references against what it would have written: only the real dangling ones
    dangling = {(e["entity"], d["field"], d["value"]) for e in report["entities"] for d in e["dangling_references"]}
    assert dangling == DANGLING


def test_entities_option_limits_the_import(capsys: Any) -> None:
    code, _ = run_script(str(FIXTURES), "--entities", "Contact,Commission", capsys=capsys)
    assert code == 0
    assert len(stored("Contact")) == 4 and len(stored("Commission")) == 2
    assert stored("Property") == {} and stored("Tenant") == {}


def test_the_frontend_names_exactly_what_the_export_holds(capsys: Any) -> None:
    """--frontend asks for the 24 entities its entities.js uses; the export has each (and its schema file the 25th)."""
    code, out = run_script(str(FIXTURES), "--frontend", str(FRONTEND), capsys=capsys)
    assert code == 0, out
    assert "NOT FOUND" not in out
    assert out.rstrip().endswith("25 entities imported, 0 not found.")


@pytest.mark.xfail(
    strict=True,
    reason="the importer stores a declared `date` field as sent; no rule rejects a value that is not YYYY-MM-DD yet",
)
def test_a_date_that_is_not_yyyy_mm_dd_is_a_rejected_row(tmp_path: Path, capsys: Any) -> None:
    """A spreadsheet re-saves `2025-12-30` as `30/12/2025`; the frontend's date inputs cannot show that (and a
    Tasks card that formats it crashes the page), so the row is rejected with the reason, the others imported."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Task_export.csv").write_text(
        "title,due_date,id\nטוב,2025-12-30,t1\nגיליון,30/12/2025,t2\nחודש 13,2025-13-01,t3\n", encoding="utf-8"
    )
    code, out = run_script(str(folder), capsys=capsys)
    assert code == 1, out
    assert set(stored("Task")) == {"t1"}
    assert "due_date" in out and "30/12/2025" in out and "2025-13-01" in out


def test_users_are_created_with_their_ids_and_a_reset_link(tmp_path: Path, capsys: Any) -> None:
    users = [
        {"id": DANA[1], "email": "Dana@Office.co.il", "full_name": "דנה לוי", "role": "admin",
         "app_role": "office_manager", "created_date": "2025-01-05T08:00:00.000000", "app_id": "x", "phone": "050"},
        {"id": "68012f0a1b2c3d4e5f601002", "email": "yossi@office.co.il", "full_name": "Yossi", "role": "user",
         "app_role": "agent"},
        {"email": "not-an-email", "role": "user"},
        "junk",
    ]  # fmt: skip
    path = tmp_path / "users.json"
    path.write_text(json.dumps(users), encoding="utf-8")
    code, out = run_script("--users", str(path), capsys=capsys)
    assert code == 1  # two entries were refused
    links = [line.split(": ", 1)[1] for line in out.splitlines() if "set-password link" in line]
    assert len(links) == 2
    with get_sessionmaker()() as session:
        dana = session.get(User, DANA[1])
        assert dana is not None and dana.email == "dana@office.co.il" and dana.role == "admin"
        assert dana.app_role == "office_manager" and dana.full_name == "דנה לוי" and dana.password_hash is None
        assert dana.created_date.isoformat() == "2025-01-05T08:00:00"
        assert dana.extra == {"phone": "050"}  # custom fields kept, Base44's own (app_id) not
        token = links[0].split("reset_token=")[1]
        redeem_reset(session, token, "a-new-password-1")  # the link works once
        session.commit()
        assert session.scalar(select(User.app_role).where(User.id == "68012f0a1b2c3d4e5f601002")) == "agent"
    # again: nobody is created twice; the user who never set a password gets a fresh link
    code, out = run_script("--users", str(path), capsys=capsys)
    assert "created" not in out.split("Users")[1].split("\n", 2)[1]
    assert out.count("set-password link") == 1
