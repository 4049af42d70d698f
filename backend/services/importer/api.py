"""The import entry points the HTTP surfaces call (API.md §7.1 `importEntities`, §8 admin import).

- `import_json(session, entity, records, dry_run=..., force=...)`: the admin API's JSON array body.
- `import_file(session, entity, content, filename, dry_run=..., force=...)`: the admin API's uploaded file.
- `import_entities_file(session, entity, content, filename=..., actor=..., trusted=...)`: Base44's
  `importEntities(file)`, answering `{"status", "details", "output"}`; all or nothing.
- `import_entities_upload(session, body, content_type, entity=..., user=...)`: the same, straight from a
  multipart request body (reads the `file` part first, then imports in the request's session).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.config import get_settings
from backend.database import discard
from backend.errors import Forbidden, PayloadTooLarge, ValidationFailed
from backend.services.auth import AuthUser
from backend.services.entities import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, Actor, check_created, rule
from backend.services.importer.report import EntityReport
from backend.services.importer.run import import_records
from backend.services.importer.sources import CsvSource, JsonSource, Row
from backend.services.importer.writer import ImportOptions
from backend.services.multipart import open_file_part
from backend.services.registry import get_spec


def _rows_of(content: bytes, filename: str | None) -> Any:
    """A callable giving the rows of an uploaded CSV or JSON file (decided by its name, else by its first byte)."""
    name = (filename or "").lower()
    is_json = name.endswith(".json") or (
        not name.endswith(".csv") and content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"["
    )

    def rows() -> Any:
        if is_json:
            return JsonSource(content).rows()
        return CsvSource(io.BytesIO(content), len(content)).rows()

    return rows


def import_json(
    session: Session, entity: str, records: Any, *, dry_run: bool = False, force: bool = False
) -> EntityReport:
    """Admin: a JSON array of records with ids and built-ins kept verbatim, upserted by id."""
    get_spec(entity)  # 404 for a name that is no entity, before anything else
    if not isinstance(records, list):
        raise ValidationFailed(
            "Expected a JSON array of records",
            detail=[{"type": "list_type", "loc": ["body"], "msg": "Input should be a list", "input": None}],
        )
    options = ImportOptions(dry_run=dry_run, force=force)
    report, _ = import_records(session, entity, lambda: JsonSource.of(records).rows(), options)
    return report


def import_file(
    session: Session, entity: str, content: bytes, filename: str | None, *, dry_run: bool = False, force: bool = False
) -> EntityReport:
    """Admin: an uploaded `<Entity>_export.csv` or `<Entity>.json`, same semantics as the script."""
    get_spec(entity)
    options = ImportOptions(dry_run=dry_run, force=force)
    report, _ = import_records(session, entity, _rows_of(content, filename), options, source=filename or "upload")
    return report


def _at_most(rows: Callable[[], Iterable[Row]], limit: int) -> Callable[[], Iterator[Row]]:
    """The rows, refused (413) at the first one past `limit` — while reading, before more are prepared and
    kept (300,000 rows grew a worker by 280 MiB); the caller's transaction rolls back whatever was written."""

    def capped() -> Iterator[Row]:
        for count, row in enumerate(rows(), start=1):
            if count > limit:
                raise PayloadTooLarge(
                    f"At most {limit} rows per import (the file has more); split the file, or an admin can "
                    "import it whole with /api/admin/import or scripts/import_base44.py"
                )
            yield row

    return capped


def import_entities_file(
    session: Session, entity: str, content: bytes, *, filename: str | None = None, actor: Actor, trusted: bool
) -> dict[str, Any]:
    """Base44's `importEntities(file)`: `{"status": "success", "details", "output": [records]}`, or
    `{"status": "error", "details", "output": None}` with nothing written when the file or any row is refused.

    `trusted` (an admin): ids and built-ins in the file are kept and rows upsert by id; rows without an id
    are new records. Otherwise every row is a new record created by `actor`, as with `bulkCreate`.
    """
    spec = get_spec(entity)
    if rule(spec, "create", actor) is False:
        raise Forbidden(f"Your role may not create {spec.name} records")
    options = ImportOptions(trusted=trusted, new_ids=True, actor=actor, collect=True, hooks=True)
    rows = _at_most(_rows_of(content, filename), MAX_IMPORT_ROWS)
    report, output = import_records(session, entity, rows, options, source=filename or "upload")
    if not report.ok:
        discard(session)  # all or nothing: the request ends normally with this answer, and keeps nothing
        details = report.summary() + ("" if report.error else " — nothing was imported; fix the rows and try again")
        return {"status": "error", "details": details, "output": None}
    check_created(session, spec, actor, [r["id"] for r in output or []])
    return {"status": "success", "details": report.summary(), "output": output}


async def read_upload(
    body: AsyncIterator[bytes], content_type: str | None, limit: int | None = None
) -> tuple[str, bytes]:
    """The `file` part of a multipart body, whole (imports parse the file as one), up to `limit` bytes
    (UPLOAD_MAX_BYTES unless given); a bigger file is refused as soon as its bytes pass the limit."""
    name = "UPLOAD_MAX_BYTES" if limit is None else "the import limit"
    limit = get_settings().upload_max_bytes if limit is None else limit
    part = await open_file_part(body, content_type, max_file_bytes=limit)
    data = bytearray()
    async for chunk in part.chunks:
        data += chunk
        if len(data) > limit:
            raise PayloadTooLarge(f"The file is larger than {name} of {limit} bytes")
    return part.filename, bytes(data)


async def import_entities_upload(
    session: Session, body: AsyncIterator[bytes], content_type: str | None, *, entity: str, user: AuthUser
) -> dict[str, Any]:
    """The whole `POST /api/apps/{app_id}/entities/{Entity}/import` once the route has checked the app id."""
    get_spec(entity)
    filename, content = await read_upload(body, content_type, MAX_IMPORT_BYTES)
    return await run_in_threadpool(
        import_entities_file, session, entity, content, filename=filename, actor=Actor.of(user), trusted=user.is_admin
    )


__all__ = ["Row", "import_entities_file", "import_entities_upload", "import_file", "import_json", "read_upload"]
