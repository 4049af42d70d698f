"""Bad input to the import: clear per-row rejections or a clear error — never a half-written entity, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.import_support import ROOT, run_script, stored

HEADER = "full_name,phone,notes,id,created_date,updated_date,created_by_id,created_by,is_sample\n"
GOOD = "דנה,'+972501234567,ok,c0000000000000000000001,2025-12-01T06:45:11.486000,2025-12-01T06:45:11.486000,u1,a@b.c,false\n"


def contact_row(record_id: str, name: str = "שם", notes: str = "n") -> str:
    return f'"{name}",050,"{notes}",{record_id},2025-12-01T06:45:11.486000,2025-12-01T06:45:11.486000,,,false\n'


def run(folder: Path, files: dict[str, bytes | str], *args: str) -> tuple[int, dict[str, Any], str]:
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    report_path = folder.parent / f"{folder.name}-report.json"
    code = run_script(str(folder), "--report", str(report_path), *args)[0]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return code, {e["entity"]: e for e in report["entities"]}, json.dumps(report, ensure_ascii=False)


def test_a_corrupt_row_is_rejected_with_its_line_and_the_rest_imported(tmp_path: Path) -> None:
    csv_text = (
        "price,rooms,parking,description,id\n"
        '100,3,true,"שורה אחת\nשורה שתיים\nשורה שלוש",p1\n'  # lines 2-4
        "abc,4,false,bad price,p2\n"  # line 5
        "300,5,maybe,bad boolean,p3\n"  # line 6
        "400,6,FALSE,fine,p4\n"
    )
    code, report, _ = run(tmp_path / "in", {"Property_export.csv": csv_text})
    assert code == 1
    entry = report["Property"]
    assert (entry["read"], entry["created"], entry["rejected"]) == (4, 2, 2)
    rows = {r["row"]: r for r in entry["rejections"]}
    assert set(rows) == {"line 5", "line 6"}
    assert "price: expected a whole number" in rows["line 5"]["reason"] and rows["line 5"]["id"] == "p2"
    assert "parking: expected true or false" in rows["line 6"]["reason"]
    assert set(stored("Property")) == {"p1", "p4"}
    assert stored("Property")["p1"]["record"]["description"] == "שורה אחת\nשורה שתיים\nשורה שלוש"


def test_files_that_are_not_csv_or_json_are_refused_whole(tmp_path: Path) -> None:
    files = {
        "Contact_export.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200),
        "Client_export.csv": b"PK\x03\x04" + bytes(100),  # an .xlsx renamed
        "Task_export.csv": b'[{"id": "t1", "title": "x"}]',
        "Supplier.json": HEADER + GOOD,
        "Lead.json": b'[{"id": "l1", "name": "cut',  # truncated JSON
        "Deal.json": b'[{"id": "d1", "amount": NaN}]',
        "Tenant.json": b'{"id": "t1"}',
        "Expense.json": b"[" * 5000 + b"]" * 5000,
    }
    code, report, _ = run(tmp_path / "in", files)
    assert code == 1
    errors = {entity: entry["error"] for entity, entry in report.items()}
    assert "binary" in errors["Contact"]
    assert "Excel workbook" in errors["Client"] and "CSV UTF-8" in errors["Client"]
    assert "holds JSON" in errors["Task"]
    assert "not JSON" in errors["Supplier"]
    assert "not valid JSON at line 1" in errors["Lead"] and "truncated" in errors["Lead"]
    assert "NaN" in errors["Deal"]
    assert "JSON array" in errors["Tenant"]
    assert "nested too deeply" in errors["Expense"]
    for entity in files:
        assert stored(entity.split("_")[0].split(".")[0]) == {}


def test_wrong_encodings_are_named(tmp_path: Path) -> None:
    files = {
        "Contact_export.csv": (HEADER + GOOD).encode("utf-8") + contact_row("c2", "שרה").encode("cp1255"),
        "Client_export.csv": (HEADER + GOOD).encode("utf-16"),
        "Task_export.csv": "title,id\ncafé,t1\n".encode("latin-1"),
    }
    code, report, _ = run(tmp_path / "in", files)
    assert code == 1
    assert report["Contact"]["error"].startswith("Line 3 is not UTF-8")
    assert "UTF-16" in report["Client"]["error"]
    assert report["Task"]["error"].startswith("Line 2 is not UTF-8")
    assert stored("Contact") == {} and stored("Task") == {}  # not even the good first row: the file is refused


def test_truncated_csv_rows_are_rejected(tmp_path: Path) -> None:
    cut_in_quotes = HEADER + GOOD + '"שם",050,"a note that\nnever ends'  # the download stopped inside the notes
    cut_in_row = "title,status,id\nא,ב,t1\nג,ד,t2\nה,ו"  # the last row lost its id column
    code, report, _ = run(tmp_path / "in", {"Contact_export.csv": cut_in_quotes, "Task_export.csv": cut_in_row})
    assert code == 1
    assert report["Contact"]["rejections"] == [
        {"row": "line 3", "id": None, "reason": "the file ends inside a quoted value: it looks truncated"}
    ]
    assert set(stored("Contact")) == {"c0000000000000000000001"}
    (rejection,) = report["Task"]["rejections"]
    assert rejection["row"] == "line 4" and "has 2 values but the header has 3 columns" in rejection["reason"]
    assert set(stored("Task")) == {"t1", "t2"}


def test_duplicate_ids_and_bad_ids_are_rejected(tmp_path: Path) -> None:
    rows = [
        contact_row("dup", "first"),
        contact_row("dup", "second"),
        contact_row("../../etc/passwd"),
        contact_row("a/b"),
        contact_row("with space"),
        contact_row("x" * 65),
        contact_row(""),
    ]
    code, report, _ = run(tmp_path / "in", {"Contact_export.csv": HEADER + "".join(rows)})
    assert code == 1
    reasons = {r["row"]: r["reason"] for r in report["Contact"]["rejections"]}
    assert reasons["line 3"] == "the same id already appears at line 2"
    for line in ("line 4", "line 5", "line 6", "line 7"):
        assert "is not a valid id" in reasons[line]
    assert reasons["line 8"].startswith("no id")
    assert list(stored("Contact")) == ["dup"]
    assert stored("Contact")["dup"]["record"]["full_name"] == "first"


def test_a_ten_megabyte_cell_rejects_its_row_only(tmp_path: Path) -> None:
    huge = "א" * (10 * 1024 * 1024 // 2)
    text = HEADER + GOOD + contact_row("big", notes=huge) + contact_row("after")
    code, report, raw = run(tmp_path / "in", {"Contact_export.csv": text})
    assert code == 1
    (rejection,) = report["Contact"]["rejections"]
    assert rejection["row"] == "line 3" and "notes: at most 50000 characters" in rejection["reason"]
    assert len(raw) < 10_000  # the report names the problem, it does not repeat the cell
    assert set(stored("Contact")) == {"c0000000000000000000001", "after"}


def test_values_the_database_cannot_hold_are_rejected_per_row(tmp_path: Path) -> None:
    records = [
        {"id": "ok1", "full_name": "fine"},
        {"id": "nul", "full_name": "a\x00b"},
        {"id": "deep", "full_name": "x", "blob": json.loads("[" * 40 + "]" * 40)},
        {"id": "big", "full_name": "x", "n": 10**30},
        {"id": "date", "full_name": "x", "created_date": "31/12/2025"},
        {"id": "who", "full_name": "x", "created_by": "x" * 400},
        {"id": "noname", "full_name": ""},
        {"id": "badkey", "full_name": "x", "bad key": 1},
        "not an object",
    ]
    code, report, _ = run(tmp_path / "in", {"Contact.json": json.dumps(records)})
    assert code == 1
    reasons = {r["id"] or r["row"]: r["reason"] for r in report["Contact"]["rejections"]}
    assert "NUL" in reasons["nul"] and "nested more than" in reasons["deep"]
    assert "too large" in reasons["big"] and "created_date" in reasons["date"]
    assert "created_by: at most 320" in reasons["who"] and "full_name: required" in reasons["noname"]
    assert "not a valid field name" in reasons["badkey"] and reasons["record 9"] == "is not a JSON object"
    assert list(stored("Contact")) == ["ok1"]


def test_bad_headers_refuse_the_file(tmp_path: Path) -> None:
    files = {"Contact_export.csv": "Full Name,id\nx,c1\n", "Task_export.csv": "title,title,id\na,b,t1\n"}
    code, report, _ = run(tmp_path / "in", files)
    assert code == 1
    assert "not field names: 'Full Name'" in report["Contact"]["error"]
    assert "names a column twice: title" in report["Task"]["error"]


def test_an_error_late_in_a_file_leaves_nothing_of_that_entity(tmp_path: Path) -> None:
    """1,500 good rows are written in batches before broken quoting at the end: the entity rolls back whole."""
    good = "".join(contact_row(f"c{i}") for i in range(1500))
    broken = HEADER + good + 'x,050,"bad"quote",cX,,,,,false\n'
    other = "title,id\nתקין,t1\n"
    code, report, _ = run(tmp_path / "in", {"Contact_export.csv": broken, "Task_export.csv": other})
    assert code == 1
    assert "quoting is broken" in report["Contact"]["error"] and report["Contact"]["created"] == 0
    assert stored("Contact") == {}
    assert list(stored("Task")) == ["t1"]  # the other entity, in its own transaction, is imported


def test_a_database_failure_mid_entity_writes_nothing_of_it(tmp_path: Path, monkeypatch: Any) -> None:
    from sqlalchemy.exc import OperationalError

    from backend.services.importer import writer

    calls = {"n": 0}
    real = writer.EntityImport._flush

    def failing_flush(self: Any, batch: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        real(self, batch)

    monkeypatch.setattr(writer.EntityImport, "_flush", failing_flush)
    good = "".join(contact_row(f"c{i}") for i in range(1500))
    code, report, _ = run(tmp_path / "in", {"Contact_export.csv": HEADER + good})
    assert code == 1
    assert "database refused" in report["Contact"]["error"] and "server closed" in report["Contact"]["error"]
    assert stored("Contact") == {}


def test_unique_pairs_and_foreign_document_ids_are_rejected(tmp_path: Path) -> None:
    matches = [
        {"id": "m1", "client_id": "c1", "property_id": "p1", "reasons": []},
        {"id": "m2", "client_id": "c1", "property_id": "p1", "reasons": []},
    ]
    run(tmp_path / "a", {"Match.json": json.dumps(matches), "Lead.json": json.dumps([{"id": "shared", "n": 1}])})
    assert list(stored("Match")) == ["m1"]
    later = [{"id": "m3", "client_id": "c1", "property_id": "p1"}]
    code, report, _ = run(
        tmp_path / "b", {"Match.json": json.dumps(later), "Deal.json": json.dumps([{"id": "shared"}])}
    )
    assert code == 1
    assert report["Match"]["rejections"][0]["reason"] == "client_id + property_id already used by record m1"
    assert report["Deal"]["rejections"][0]["reason"] == "this id already belongs to a Lead record"
    assert list(stored("Match")) == ["m1"] and stored("Deal") == {}


def test_changes_update_and_newer_local_edits_are_kept(tmp_path: Path, client: Any, admin: dict[str, Any]) -> None:
    base = {"id": "c1", "full_name": "ישן", "updated_date": "2025-12-01T00:00:00.000000"}
    run(tmp_path / "a", {"Contact.json": json.dumps([base])})
    code, report, _ = run(
        tmp_path / "b",
        {"Contact.json": json.dumps([{**base, "full_name": "חדש", "updated_date": "2025-12-02T00:00:00.000000"}])},
    )
    assert code == 0 and report["Contact"]["updated"] == 1
    record = stored("Contact")["c1"]
    assert record["version"] == 2 and record["record"]["full_name"] == "חדש"
    # someone edits the record here; an older export must not silently undo that
    assert client.put("/api/contacts/c1", json={"full_name": "נערך כאן"}, headers=admin["headers"]).status_code == 200
    code, report, _ = run(tmp_path / "c", {"Contact.json": json.dumps([{**base, "full_name": "חדש"}])})
    assert code == 1 and "changed here after this export" in report["Contact"]["rejections"][0]["reason"]
    assert stored("Contact")["c1"]["record"]["full_name"] == "נערך כאן"
    code, report, _ = run(tmp_path / "d", {"Contact.json": json.dumps([{**base, "full_name": "חדש"}])}, "--force")
    assert code == 0 and stored("Contact")["c1"]["record"]["full_name"] == "חדש"


def test_the_folder_is_read_with_care(tmp_path: Path, capsys: Any) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "contact_export (1).csv").write_text(HEADER + GOOD, encoding="utf-8")
    (folder / "Lead_export.csv").write_text("name,id\nfrom csv,l1\n", encoding="utf-8")
    (folder / "Lead.json").write_text('[{"id": "l1", "name": "from json"}]', encoding="utf-8")
    (folder / "User_export.csv").write_text("email,id\na@b.c,u1\n", encoding="utf-8")
    (folder / "notes.txt").write_text("hello", encoding="utf-8")
    code, out = run_script(str(folder), capsys=capsys)
    assert code == 0, out
    assert list(stored("Contact")) == ["c0000000000000000000001"]
    assert stored("Lead")["l1"]["record"]["name"] == "from json"
    assert "Lead_export.csv: skipped — Lead.json holds Lead too" in out
    assert "User_export.csv: skipped — users are imported with --users" in out
    assert "notes.txt: not understood — skipped" in out


def test_the_command_line_never_shows_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "Contact_export.csv").write_bytes(b"\xff\xfe\x00garbage")
    (folder / "Lead.json").write_bytes(b"[{")
    for args in ([str(folder)], [str(tmp_path / "missing")], ["--from-api", "http://127.0.0.1:9"], []):
        result = subprocess.run(
            [sys.executable, "scripts/import_base44.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.returncode in (1, 2), result
        assert "Traceback" not in result.stderr + result.stdout
    result = subprocess.run(
        [sys.executable, "scripts/import_base44.py", str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "UTF-16" in result.stdout and "not valid JSON" in result.stdout
