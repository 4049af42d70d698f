"""Admin import and export (API.md §8): records in with their ids and dates kept, and everything back out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from backend.deps import AdminUser, SessionDep
from backend.errors import BadRequest, ValidationFailed, field_error
from backend.jsonutil import JSONResponse
from backend.routing import JsonRoute
from backend.services.importer import api as importer
from backend.services.importer.cells import json_loads
from backend.services.importer.export import exportable, filename, stream_export
from backend.services.registry import get_spec

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=JsonRoute)

_IMPORT_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post("/import/{entity}", operation_id="admin_import", openapi_extra=_IMPORT_DOC)
async def import_entity(
    entity: str,
    request: Request,
    session: SessionDep,
    _: AdminUser,
    dry_run: Annotated[bool, Query(description="Report what would happen; write nothing")] = False,
    force: Annotated[bool, Query(description="Also overwrite records changed here after the export")] = False,
) -> Response:
    """Admin: import records of `entity`, keeping their ids, dates and creators; upsert by id.

    The body is a JSON array of records (as the Base44 API returns them), or a multipart upload with a
    `<Entity>_export.csv` / `<Entity>.json` in the part `file` for files above MAX_BODY_BYTES. Answers the
    report: read, created, updated, unchanged, rejected (each with its row and reason) and dangling
    references. Rejected rows do not stop the others; a file that cannot be read at all → 422, nothing written.
    """
    get_spec(entity)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        name, content = await importer.read_upload(request.stream(), content_type)
        report = await run_in_threadpool(
            importer.import_file, session, entity, content, name, dry_run=dry_run, force=force
        )
    else:
        try:
            records = json_loads(await request.body())
        except (ValueError, RecursionError, UnicodeDecodeError):
            raise BadRequest("The body is not valid JSON: send a JSON array of records") from None
        report = await run_in_threadpool(importer.import_json, session, entity, records, dry_run=dry_run, force=force)
    if report.error is not None:
        raise ValidationFailed(f"Nothing imported: {report.error}", detail=[field_error("file", report.error)])
    return JSONResponse(report.as_dict())


@router.get("/export/{entity}", operation_id="admin_export", response_class=StreamingResponse)
def export_entity(
    entity: str,
    _: AdminUser,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format", description="json or csv (Base44's layout)")] = "json",
    deleted: Annotated[bool, Query(description="Include soft-deleted records, marked by `deleted_date`")] = False,
) -> StreamingResponse:
    """Admin: every record of `entity`, streamed, as `<Entity>.json` or `<Entity>_export.csv` — the files the
    import reads back unchanged. CSV values starting with `=`, `+`, `-` or `@` carry a leading `'`."""
    spec = exportable(entity)  # 404 for a name nothing is stored under (a misspelling), not an empty file
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return StreamingResponse(
        stream_export(spec, fmt, deleted=deleted),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename(spec, fmt)}"'},
    )
