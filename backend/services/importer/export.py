"""Every record of an entity, streamed out in Base44's export formats, so an export can be imported again as is.

- JSON: an array of records exactly as the API shows them (`<Entity>.json`).
- CSV: Base44's dashboard layout (`<Entity>_export.csv`): the schema's fields, then every undeclared field
  any record has, then `id,created_date,updated_date,created_by_id,created_by,is_sample`; UTF-8 with a BOM
  (Excel shows Hebrew right), every value quoted, booleans `true`/`false`, lists and objects as JSON text,
  and a `'` before a text value starting with `=`, `+`, `-` or `@`, so a spreadsheet shows a formula as
  text instead of running it. The importer drops that `'` again.

With the trash included (`deleted=true`) a trashed record says so, so that an import keeps it in the trash:
JSON gives it a `deleted_date` key (only trashed records have one); CSV gets a last `deleted_date` column,
empty for live records. An export without the trash has neither, byte for byte Base44's layout.

Rows come through a server-side cursor (`stream_results`, `yield_per`) in `created_date, id` order and leave
in chunks, so a million rows pass through in a few megabytes whatever the table's size.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, Literal

from sqlalchemy import Select, func, select, true
from sqlalchemy.engine import Connection, Engine

from backend.database import get_engine, long_statements
from backend.errors import NotFound
from backend.jsonutil import dumps
from backend.services.importer.cells import to_cell
from backend.services.importer.prepare import DELETED  # when the record went to the trash; read back there
from backend.services.query.fields import record_columns, record_keys, to_record
from backend.services.registry import EntitySpec, get_spec

Format = Literal["json", "csv"]
CSV_BUILTINS = ["id", "created_date", "updated_date", "created_by_id", "created_by", "is_sample"]
YIELD_PER = 2000
CHUNK_BYTES = 256 * 1024


def exportable(entity: str) -> EntitySpec:
    """The entity to export, or 404: a name that is not an entity, or one nothing is stored under.

    Any PascalCase name is a valid document-store entity, so a misspelt name ("Contatc") used to export an
    empty file with a 200 — indistinguishable from an entity that is empty. A declared entity with no
    records is still a valid, empty export.
    """
    spec = get_spec(entity)
    if spec.document:
        with get_engine().connect() as conn:
            stored = conn.scalar(select(spec.model.id).where(spec.scope()).limit(1))
        if stored is None:
            raise NotFound(
                f"No entity named {entity!r}: nothing is stored under that name. Entity names are PascalCase, "
                "such as Contact or Property"
            )
    return spec


def filename(spec: EntitySpec, fmt: Format) -> str:
    """The name the importer expects for this entity and format."""
    return f"{spec.name}_export.csv" if fmt == "csv" else f"{spec.name}.json"


def _rows(spec: EntitySpec, deleted: bool) -> Select[Any]:
    model = spec.model
    if deleted:
        stmt = select(*record_columns(spec), model.deleted_at)
    else:
        stmt = select(*record_columns(spec)).where(model.deleted_at.is_(None))
    return stmt.where(spec.scope()).order_by(model.created_date, model.id)


def extra_keys(conn: Connection, spec: EntitySpec, deleted: bool) -> list[str]:
    """Every undeclared field name any record carries: the CSV needs its columns before the first row."""
    model = spec.model
    if conn.dialect.name == "postgresql":
        stmt = select(func.jsonb_object_keys(model.extra))
    else:
        each = func.json_each(model.extra).table_valued("key")
        stmt = select(each.c.key).select_from(spec.table).join(each, true())
    stmt = stmt.where(spec.scope()).distinct()
    if not deleted:
        stmt = stmt.where(model.deleted_at.is_(None))
    names = {str(name) for name in conn.scalars(stmt)}
    return sorted(names - set(spec.fields) - set(CSV_BUILTINS) - ({DELETED} if deleted else set()))


def csv_columns(spec: EntitySpec, extra: list[str], deleted: bool = False) -> list[str]:
    return [*spec.fields, *extra, *CSV_BUILTINS, *([DELETED] if deleted else [])]


def _records(conn: Connection, spec: EntitySpec, deleted: bool) -> Iterator[dict[str, Any]]:
    keys = record_keys(spec)
    width = len(keys)
    streamed = conn.execution_options(stream_results=True, yield_per=YIELD_PER)
    for row in streamed.execute(_rows(spec, deleted)):
        record = to_record(keys, row[:width], row[width])
        if deleted:  # the real trash time, never an undeclared field that happens to share the name
            record.pop(DELETED, None)
            if row[width + 1] is not None:
                record[DELETED] = row[width + 1]
        yield record


def stream_json(conn: Connection, spec: EntitySpec, deleted: bool) -> Iterator[bytes]:
    buffer = bytearray(b"[")
    first = True
    for record in _records(conn, spec, deleted):
        buffer += b"\n" if first else b",\n"
        first = False
        buffer += dumps(record)
        if len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"]\n" if first else b"\n]\n"
    yield bytes(buffer)


def stream_csv(conn: Connection, spec: EntitySpec, deleted: bool) -> Iterator[bytes]:
    columns = csv_columns(spec, extra_keys(conn, spec, deleted), deleted)
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    text.write("\ufeff")
    writer.writerow(columns)
    for record in _records(conn, spec, deleted):
        writer.writerow([to_cell(record.get(name)) for name in columns])
        if text.tell() >= CHUNK_BYTES:
            yield text.getvalue().encode("utf-8")
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode("utf-8")


def stream_export(
    spec: EntitySpec, fmt: Format, *, deleted: bool = False, engine: Engine | None = None
) -> Iterator[bytes]:
    """The export as byte chunks, on a connection of its own that lives exactly as long as the stream."""
    with (engine or get_engine()).connect() as conn:
        long_statements(conn)  # the CSV's column scan and each FETCH of a million-row table may pass 15 s
        yield from (stream_csv if fmt == "csv" else stream_json)(conn, spec, deleted)
