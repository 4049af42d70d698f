"""The Base44 surface's entity verbs (API.md §7.1): the same entity service and query engine as the REST
surface, in the shapes `@base44/sdk` expects. Any PascalCase name not modelled is the document store."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from backend.deps import AdminUser, CurrentUser, SessionDep
from backend.errors import BadRequest
from backend.jsonutil import JSONResponse, dumps
from backend.routes.base44 import sdk_extras
from backend.routes.base44.common import AppId, EntityName, spec_for
from backend.routes.reads import base44_params, page_response, record_response
from backend.routing import JsonRoute
from backend.services import entities, reading
from backend.services.importer.api import import_entities_upload

router = APIRouter(prefix="/api/apps/{app_id}/entities", tags=["Base44 entities"], route_class=JsonRoute)
AnyBody = Annotated[Any, Body()]


def _params(request: Request) -> Any:
    return base44_params(request.query_params.multi_items())


@router.get("/{entity}/count", operation_id="b44_count")
async def count(app_id: AppId, entity: EntityName, request: Request, user: CurrentUser) -> Response:
    """`count(q)` → `{"count": n}` (of the records the user may read)."""
    spec, params = spec_for(app_id, entity), _params(request)
    return JSONResponse({"count": await reading.count(spec, params, user.viewer)})


@router.get("/{entity}/v2/list", operation_id="b44_list_cursor")
async def list_cursor(app_id: AppId, entity: EntityName, request: Request, user: CurrentUser) -> Response:
    """Cursor pages: `{"items", "next_cursor", "has_more"}`; with `distinct=field`, that field's values."""
    if "distinct" in request.query_params:
        return await sdk_extras.distinct_page(app_id, entity, request, user)
    spec, params = spec_for(app_id, entity), _params(request)
    page = await reading.list_page(spec, params, user.viewer, strict=False)
    head = b'{"items":' + page.body + b',"next_cursor":' + dumps(page.next_cursor)
    return Response(head + b',"has_more":' + dumps(page.next_cursor is not None) + b"}", media_type="application/json")


@router.post("/{entity}/bulk", status_code=201, operation_id="b44_bulk_create")
def bulk_create(app_id: AppId, entity: EntityName, session: SessionDep, user: CurrentUser, body: AnyBody) -> Response:
    """`bulkCreate(list)`: all validated before any is written; records in input order. An item repeating a
    unique pair already stored (a match pair, say) is not written again: the stored record is answered."""
    created = entities.bulk_create(session, spec_for(app_id, entity), body, entities.Actor.of(user), keep_stored=True)
    return JSONResponse(created, status_code=201)


@router.put("/{entity}/bulk", operation_id="b44_bulk_update")
def bulk_update(app_id: AppId, entity: EntityName, session: SessionDep, user: CurrentUser, body: AnyBody) -> Response:
    """`bulkUpdate([{id, ...}])`, at most 500, all or nothing."""
    return JSONResponse(entities.bulk_update(session, spec_for(app_id, entity), body, entities.Actor.of(user)))


@router.patch("/{entity}/update-many", operation_id="b44_update_many")
def update_many(app_id: AppId, entity: EntityName, session: SessionDep, user: CurrentUser, body: AnyBody) -> Response:
    """`updateMany(query, data)` with Mongo update operators; 500 records per call, `has_more` if more."""
    if not isinstance(body, dict) or "query" not in body or "data" not in body:
        raise BadRequest('Expected {"query": {...}, "data": {...}}')
    spec, actor = spec_for(app_id, entity), entities.Actor.of(user)
    updated, more = entities.update_many(session, spec, body["query"], body["data"], actor)
    return JSONResponse({"success": True, "updated": updated, "has_more": more})


@router.post("/{entity}/import", operation_id="b44_import")
async def import_file(
    app_id: AppId, entity: EntityName, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """`importEntities(file)`: a CSV (or JSON) file of records → `{"status", "details", "output"}`.

    A broken file or any refused row answers `status: "error"` and imports nothing. An admin's file
    keeps ids and built-ins (upsert by id); anyone else's rows become new records, as with bulkCreate.
    At most 5,000 rows and 10 MiB (413, nothing written); admins import bigger files with /api/admin/import.
    """
    spec_for(app_id, entity)
    answer = await import_entities_upload(
        session, request.stream(), request.headers.get("content-type"), entity=entity, user=user
    )
    return JSONResponse(answer)


@router.get("/{entity}", operation_id="b44_list")
async def list_records(app_id: AppId, entity: EntityName, request: Request, user: CurrentUser) -> Response:
    """`list(sort, limit, skip, fields)` / `filter(q, ...)`: a plain JSON array; limit absent → 5000."""
    spec, params = spec_for(app_id, entity), _params(request)
    return page_response(await reading.list_page(spec, params, user.viewer, strict=False))


@router.post("/{entity}", status_code=201, operation_id="b44_create")
def create(app_id: AppId, entity: EntityName, session: SessionDep, user: CurrentUser, body: AnyBody) -> Response:
    """`create(data)`."""
    record, tag = entities.create(session, spec_for(app_id, entity), body, entities.Actor.of(user))
    return JSONResponse(record, status_code=201, headers={"ETag": tag})


@router.delete("/{entity}", operation_id="b44_delete_many")
def delete_many(
    app_id: AppId, entity: EntityName, session: SessionDep, user: AdminUser, body: AnyBody = None
) -> Response:
    """`deleteMany(query)` (admin): soft-deletes the matches; an empty query is refused."""
    deleted = entities.delete_matching(session, spec_for(app_id, entity), body, entities.Actor.of(user))
    return JSONResponse({"success": True, "deleted": deleted})


@router.get("/{entity}/{record_id}", operation_id="b44_get")
async def get_record(app_id: AppId, entity: EntityName, record_id: str, user: CurrentUser) -> Response:
    """`get(id)`."""
    return record_response(*await reading.get_record(spec_for(app_id, entity), record_id, user.viewer))


@router.put("/{entity}/{record_id}", operation_id="b44_update")
def update(
    app_id: AppId, entity: EntityName, record_id: str, session: SessionDep, user: CurrentUser, body: AnyBody
) -> Response:
    """`update(id, data)`: a merge; built-in fields the form sends back are ignored."""
    actor = entities.Actor.of(user)
    record, tag = entities.update_record(session, spec_for(app_id, entity), record_id, body, actor=actor)
    return JSONResponse(record, headers={"ETag": tag})


@router.delete("/{entity}/{record_id}", operation_id="b44_delete")
def delete(app_id: AppId, entity: EntityName, record_id: str, session: SessionDep, user: CurrentUser) -> Response:
    """`delete(id)` → `{"success": true}`; the record goes to the trash."""
    entities.soft_delete(session, spec_for(app_id, entity), record_id, actor=entities.Actor.of(user))
    return JSONResponse({"success": True})
