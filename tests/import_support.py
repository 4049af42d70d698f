"""Shared by the import tests: running the script in-process, reading back what is stored, comparing with the truth."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from backend.database import get_sessionmaker
from backend.models import Document
from backend.services.query.fields import record_columns, record_keys, to_record
from backend.services.registry import MODELLED, get_spec
from tests.fixtures.base44_data import ALL, expected

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "base44_export"
BUILTINS = ("id", "created_date", "updated_date", "created_by", "created_by_id", "is_sample")


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location("import_base44", ROOT / "scripts" / "import_base44.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = load_script()


def run_script(*args: str, capsys: Any = None) -> tuple[int, str]:
    """The script's main() in this process (same database); returns (exit code, stderr + stdout)."""
    code = SCRIPT.main(list(args))
    captured = capsys.readouterr() if capsys is not None else None
    return code, (captured.err + captured.out) if captured is not None else ""


def stored(entity: str, *, deleted: bool = True) -> dict[str, dict[str, Any]]:
    """id → {"record": the record as the API shows it, "version": n}, straight from the database."""
    spec = get_spec(entity)
    keys = record_keys(spec)
    stmt = select(*record_columns(spec), spec.model.version).where(spec.scope())
    if not deleted:
        stmt = stmt.where(spec.model.deleted_at.is_(None))
    with get_sessionmaker()() as session:
        rows = session.execute(stmt).all()
    return {
        row[0]: {"record": to_record(keys, row[: len(keys)], row[len(keys)]), "version": row[len(keys) + 1]}
        for row in rows
    }


def snapshot() -> dict[str, dict[str, dict[str, Any]]]:
    return {entity: stored(entity) for entity in ALL}


def wipe_entities() -> None:
    with get_sessionmaker()() as session:
        for spec in MODELLED.values():
            session.execute(delete(spec.table))
        session.execute(delete(Document.__table__))
        session.commit()


def differences(entity: str, records: dict[str, dict[str, Any]]) -> list[str]:
    """Every way the stored records of `entity` differ from the truth: values, types, missing or extra fields."""
    spec = get_spec(entity)
    truth = expected(entity)
    problems = []
    if set(records) != set(truth):
        problems.append(f"{entity}: ids {sorted(records)} != {sorted(truth)}")
    for record_id, want in truth.items():
        got = records.get(record_id, {}).get("record")
        if got is None:
            continue
        allowed = set(spec.fields) | set(BUILTINS) | set(want)
        for key in sorted(set(got) - allowed):
            if key not in spec.extra_fields or got[key] is not None:  # a schema-typed field the row left empty: null
                problems.append(f"{entity} {record_id}: unexpected field {key}={got[key]!r}")
        for key in sorted(set(spec.fields) | set(want)):
            a, b = got.get(key, "<absent>"), want.get(key)
            if key not in got or a != b or type(a) is not type(b):
                problems.append(f"{entity} {record_id}.{key}: stored {a!r}, source {b!r}")
    return problems


def csv_text(data: bytes) -> io.StringIO:
    return io.StringIO(data.decode("utf-8-sig"), newline="")
