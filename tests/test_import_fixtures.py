"""The Base44 import against fixtures that look exactly like real exports (tests/fixtures/base44_export/, 24 entities)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.database import get_sessionmaker
from backend.models.user import User
from backend.services.auth import redeem_reset
from tests.fixtures.base44_data import ALL, DANA, DANGLING, MODELLED, UNMODELLED
from tests.fixtures.make_base44_export import files
from tests.import_support import FIXTURES, differences, run_script, snapshot, stored


def test_fixtures_are_what_the_generator_writes() -> None:
    """The committed files are the generator's output (so the truth in base44_data.py is the truth of the files)."""
    written = files()
    assert sorted(written) == sorted(p.name for p in FIXTURES.iterdir())
    for name, data in written.items():
        assert (FIXTURES / name).read_bytes() == data, name
    assert len(ALL) == 24 and len(MODELLED) == 11 and len(UNMODELLED) == 13
    assert {f.fmt for f in ALL.values()} == {"csv", "json"}


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
    contact = stored("Contact")["6801309791850cc36c8c0102"]["record"]
    assert contact["notes"] == "=cmd|' /C calc'!A0"  # Base44's `'` dropped, the value kept as data
    assert contact["social"] == {"facebook": "https://facebook.com/yossi", "followers": 120}


def test_unmodelled_entities_go_to_the_document_store() -> None:
    run_script(str(FIXTURES))
    with get_sessionmaker()() as session:
        from backend.models import Document

        names = set(session.scalars(select(Document.entity_name).distinct()))
    assert names == set(UNMODELLED)


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
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    created = {e["entity"]: e["created"] for e in report["entities"]}
    assert created == {entity: len(f.records) for entity, f in ALL.items()}
    # a dry run resolves references against what it would have written: only the real dangling ones
    dangling = {(e["entity"], d["field"], d["value"]) for e in report["entities"] for d in e["dangling_references"]}
    assert dangling == DANGLING


def test_entities_option_limits_the_import(capsys: Any) -> None:
    code, _ = run_script(str(FIXTURES), "--entities", "Contact,Lead", capsys=capsys)
    assert code == 0
    assert len(stored("Contact")) == 4 and len(stored("Lead")) == 2
    assert stored("Property") == {} and stored("Deal") == {}


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
