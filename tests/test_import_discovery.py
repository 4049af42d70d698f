"""The import finds every entity from what the user gives — the folder's files, its schema files, the exported
frontend's entities.js, --entities — never from a built-in guess, and says what it did not find."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from backend.database import get_sessionmaker
from backend.models import StoredSchema
from tests.import_support import ROOT, run_script, stored

FRONTEND = ROOT / "tests" / "fixtures" / "base44-export"
WORKSHOP_SCHEMA = """{
  // Base44 CLI files are JSONC
  "name": "Workshop",
  "type": "object",
  "properties": {
    "title": {"type": "string"},
    "days": {"type": "integer"},
    "is_active": {"type": "boolean"},
  },
  "required": ["title"],
}"""


def _schemas_stored() -> int:
    with get_sessionmaker()() as session:
        return int(session.scalar(select(func.count()).select_from(StoredSchema)) or 0)


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "export"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def test_schema_files_type_the_entities_they_describe(tmp_path: Path, capsys: Any) -> None:
    folder = _folder(
        tmp_path,
        {
            "entities/workshop.jsonc": WORKSHOP_SCHEMA,
            "Workshop_export.csv": 'title,days,is_active,id\n"A","3","true",w1\n"B","12","FALSE",w2\n',
        },
    )
    code, out = run_script(str(folder), capsys=capsys)
    assert code == 0, out
    assert out.rstrip().endswith("1 entities imported, 0 not found.")
    assert "Schema files stored: Workshop (workshop.jsonc)" in out
    records = {key: value["record"] for key, value in stored("Workshop").items()}
    assert (records["w1"]["days"], records["w1"]["is_active"]) == (3, True)
    assert (records["w2"]["days"], records["w2"]["is_active"]) == (12, False)
    assert _schemas_stored() == 1


def test_entities_asked_for_and_not_found_are_named(tmp_path: Path, capsys: Any) -> None:
    folder = _folder(tmp_path, {"Contact_export.csv": "full_name,id\nדנה,c1\n", "readme.md": "hi"})
    code, out = run_script(str(folder), "--frontend", str(FRONTEND), capsys=capsys)
    assert code == 1, out
    assert stored("Contact")["c1"]["record"]["full_name"] == "דנה"
    for entity in ("PropertyBrokerage", "BuyersBrokerage", "MatchesBrokerage", "AccountingDocuments"):
        assert f"NOT FOUND {entity}: no {entity}_export.csv or {entity}.json in export/" in out
    assert "readme.md: not understood" in out
    assert "Everything" not in out
    assert out.rstrip().endswith("1 entities imported, 23 not found — see above; exit code 1.")


def test_a_bad_schema_file_stops_the_run_before_anything_is_written(tmp_path: Path, capsys: Any) -> None:
    for bad, reason in (
        ('{"name": "Workshop", "properties": {"days": {"type": "duration"}}}', "Workshop.days: unknown type"),
        ('{"name": "Workshop", "properties": ', "workshop.json: not valid JSON"),
    ):
        folder = _folder(
            tmp_path / reason[:8],
            {"entities/workshop.json": bad, "Contact_export.csv": "full_name,id\nדנה,c1\n"},
        )
        code, out = run_script(str(folder), capsys=capsys)
        assert code == 1
        assert reason in out
        assert stored("Contact") == {} and _schemas_stored() == 0


def test_a_dry_run_says_it_wrote_nothing(tmp_path: Path, capsys: Any) -> None:
    folder = _folder(
        tmp_path,
        {"entities/Workshop.jsonc": WORKSHOP_SCHEMA, "Workshop_export.csv": "title,days,id\nA,x,w1\nB,4,w2\n"},
    )
    code, out = run_script(str(folder), "--dry-run", capsys=capsys)
    assert code == 1, out  # the dry run still applies the schema: "x" is not a whole number
    assert "days: expected a whole number" in out
    assert out.rstrip().endswith(
        "Dry run: nothing was written. 1 entities checked, 2 rows read: 1 would be created, 0 updated, 1 rejected; "
        "0 not found, 1 with problems."
    )
    assert stored("Workshop") == {} and _schemas_stored() == 0


def test_from_api_needs_to_be_told_which_entities(capsys: Any) -> None:
    code, out = run_script("--from-api", "http://127.0.0.1:9", "--app-id", "a", "--api-key", "k", capsys=capsys)
    assert code == 1
    assert "say which entities to fetch" in out


def test_row_rules_in_an_exports_schema_files_are_honoured(tmp_path: Path, capsys: Any, client: Any) -> None:
    """The rules the office had on Base44 come with its schema files: an agent sees only its own workshops
    after the import, and a rule naming a field the entity lacks stops the run with entity and rule named."""
    from tests.conftest import make_user

    ruled = WORKSHOP_SCHEMA.replace(
        '"required": ["title"],', '"required": ["title"], "rls": {"read": {"created_by": "{{user.email}}"}},'
    )
    csv = "title,created_by,id\nשלי,mine@office.example,w1\nשלו,theirs@office.example,w2\n"
    folder = _folder(tmp_path, {"entities/workshop.jsonc": ruled, "Workshop_export.csv": csv})
    code, out = run_script(str(folder), capsys=capsys)
    assert code == 0, out
    mine = make_user("mine@office.example", app_role="agent")
    listed = client.get("/api/apps/a1/entities/Workshop", headers=mine["headers"]).json()
    assert [r["id"] for r in listed] == ["w1"]

    broken = WORKSHOP_SCHEMA.replace('"required": ["title"],', '"required": ["title"], "rls": {"read": {"nope": 1}},')
    folder = _folder(tmp_path / "again", {"entities/workshop.jsonc": broken, "Workshop_export.csv": csv})
    code, out = run_script(str(folder), capsys=capsys)
    assert code == 1 and "Workshop" in out and "rls.read" in out and "'nope'" in out, out
