"""Export → import round trips through the admin API: what goes out comes back in identical (JSON), and identical
within what CSV can carry (CSV)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from backend.services.registry import get_spec
from tests.fixtures.base44_data import ALL
from tests.import_support import BUILTINS, FIXTURES, csv_text, run_script, snapshot, wipe_entities


def export_all(client: Any, admin: dict[str, Any], fmt: str, folder: Path) -> None:
    folder.mkdir()
    for entity in ALL:
        response = client.get(f"/api/admin/export/{entity}", params={"format": fmt}, headers=admin["headers"])
        assert response.status_code == 200, response.text
        disposition = response.headers["content-disposition"]
        name = disposition.split('filename="')[1].rstrip('"')
        assert name == (f"{entity}_export.csv" if fmt == "csv" else f"{entity}.json")
        (folder / name).write_bytes(response.content)


def csv_view(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """What CSV can carry of a record (the documented limits of Base44's CSV format): an empty text is an empty
    cell (null), an undeclared null or "" is no value at all, and undeclared numbers and booleans become text."""
    spec = get_spec(entity)
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in spec.fields or key in BUILTINS:
            out[key] = None if value == "" else value
        elif value is None or value == "":
            continue
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            out[key] = repr(value) if isinstance(value, float) else str(value)
        else:
            out[key] = value
    return out


def test_json_export_imports_back_identical(client: Any, admin: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    assert run_script(str(FIXTURES), capsys=capsys)[0] == 0
    before = snapshot()
    export_all(client, admin, "json", tmp_path / "out")
    # into the same database: nothing to do
    code, out = run_script(str(tmp_path / "out"), capsys=capsys)
    assert code == 0, out
    assert snapshot() == before
    # into an empty one: everything back, ids, dates, creators, types and unknown fields included
    wipe_entities()
    assert run_script(str(tmp_path / "out"), capsys=capsys)[0] == 0
    assert snapshot() == before


def test_csv_export_imports_back_identical(client: Any, admin: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    assert run_script(str(FIXTURES), capsys=capsys)[0] == 0
    before = snapshot()
    export_all(client, admin, "csv", tmp_path / "out")
    wipe_entities()
    code, out = run_script(str(tmp_path / "out"), capsys=capsys)
    assert code == 0, out
    after = snapshot()
    for entity, fixture in ALL.items():
        if fixture.fmt == "csv":  # came from CSV, so everything it holds fits CSV: strictly identical
            assert after[entity] == before[entity], entity
        else:
            want = {i: {**r, "record": csv_view(entity, r["record"])} for i, r in before[entity].items()}
            assert after[entity] == want, entity
    # and a second CSV round trip is exact for everything
    export_all(client, admin, "csv", tmp_path / "again")
    wipe_entities()
    assert run_script(str(tmp_path / "again"), capsys=capsys)[0] == 0
    assert snapshot() == after


def test_csv_export_is_base44s_layout(client: Any, admin: dict[str, Any], capsys: Any) -> None:
    run_script(str(FIXTURES), capsys=capsys)
    response = client.get("/api/admin/export/Contact?format=csv", headers=admin["headers"])
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel shows the Hebrew right
    rows = list(csv.reader(csv_text(response.content)))
    header = rows[0]
    assert header[: len(get_spec("Contact").fields)] == list(get_spec("Contact").fields)
    assert header[-6:] == ["id", "created_date", "updated_date", "created_by_id", "created_by", "is_sample"]
    assert set(header) >= {"tags", "social", "preferred_language"}  # unknown columns kept
    by_id = {row[header.index("id")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    yossi = by_id["6801309791850cc36c8c0102"]
    assert yossi["notes"] == "'=cmd|' /C calc'!A0"  # escaped again, so no spreadsheet runs it
    assert yossi["phone"] == "054-7654321"
    assert by_id["6801309791850cc36c8c0101"]["phone"] == "'+972501234567"
    assert by_id["6801309791850cc36c8c0101"]["tags"] == '["VIP","משקיעה"]'
    assert by_id["6801309791850cc36c8c0104"]["is_sample"] == "true"
    assert by_id["6801309791850cc36c8c0101"]["created_date"] == "2025-12-01T06:45:17.486000"
    assert b'"6801309791850cc36c8c0102"' in response.content  # every value quoted


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_of_an_empty_entity_imports_as_nothing(
    client: Any, admin: dict[str, Any], tmp_path: Path, fmt: str, capsys: Any
) -> None:
    response = client.get(f"/api/admin/export/Contact?format={fmt}", headers=admin["headers"])
    assert response.status_code == 200
    name = "Contact_export.csv" if fmt == "csv" else "Contact.json"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_bytes(response.content)
    code, out = run_script(str(tmp_path / "in"), "--report", str(tmp_path / "r.json"), capsys=capsys)
    assert code == 0, out
    (entry,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["entities"]
    assert (entry["entity"], entry["read"], entry["created"], entry["error"]) == ("Contact", 0, 0, None)
