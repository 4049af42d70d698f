"""The REST surface for every modelled entity (API.md §3), generated from the registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response

from backend.deps import AdminUser, CurrentUser, SessionDep
from backend.errors import Forbidden
from backend.jsonutil import JSONResponse
from backend.routes.reads import page_response, record_response
from backend.routing import JsonRoute
from backend.schemas.entities import input_schema, record_schema
from backend.services import entities, reading
from backend.services.query import parse_list_params
from backend.services.registry import MODELLED, EntitySpec, get_spec

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad parameter (q, sort, fields, limit, cursor)"},
    404: {"description": "No such record"},
    412: {"description": "If-Match does not match the record's ETag"},
    422: {"description": "Invalid field values"},
}
_LIST_PARAMS = (
    ("sort", "string", "`-field` descending, `+field`/`field` ascending, comma list; default `-created_date`"),
    ("order_by", "string", "same as sort"),
    ("limit", "integer", "rows per page (default and maximum MAX_PAGE_SIZE)"),
    ("skip", "integer", "rows to skip (alias: offset)"),
    ("fields", "string", "comma list of fields to return (id always)"),
    ("q", "string", "JSON query object in Base44's Mongo-style language"),
    ("count", "boolean", "add X-Total-Count"),
    ("cursor", "string", "the X-Next-Cursor of the previous page"),
)
LIST_DOC = {
    "parameters": [
        {"name": name, "in": "query", "schema": {"type": kind}, "description": text}
        for name, kind, text in _LIST_PARAMS
    ]
}
IfMatch = Annotated[str | None, Header(alias="If-Match", description="ETag the write expects")]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def make_router(spec: EntitySpec) -> APIRouter:
    name, base = spec.collection, f"/api/{spec.collection}"
    router = APIRouter(prefix=base, tags=[spec.name], route_class=JsonRoute)
    record = record_schema(spec)

    def current() -> EntitySpec:
        """The entity as it is now: a stored schema's rules and typed fields act from the next request, as on
        the Base44 surface (the `spec` above only shapes the routes and their OpenAPI)."""
        return get_spec(spec.name)

    many = {"type": "array", "items": record}

    @router.get(
        "", operation_id=f"{name}_list", responses={200: _json(many, "Records"), **ERRORS}, openapi_extra=LIST_DOC
    )
    async def list_records(request: Request, user: CurrentUser) -> Response:
        """List records: sort, limit/skip, fields, `q`, field=value filters, count, keyset cursor."""
        params = parse_list_params(request.query_params.multi_items())
        return page_response(await reading.list_page(current(), params, user.viewer, strict=True))

    @router.get(
        "/trash",
        operation_id=f"{name}_trash",
        responses={200: _json(many, "Deleted records"), **ERRORS},
        openapi_extra=LIST_DOC,
    )
    async def list_trash(request: Request, user: AdminUser) -> Response:
        """Admin: soft-deleted records, with the same list parameters."""
        params = parse_list_params(request.query_params.multi_items())
        return page_response(await reading.list_page(current(), params, user.viewer, strict=True, deleted=True))

    @router.get("/{record_id}", operation_id=f"{name}_get", responses={200: _json(record, "The record"), **ERRORS})
    async def get_record(record_id: str, user: CurrentUser) -> Response:
        """One record, with its ETag."""
        return record_response(*await reading.get_record(current(), record_id, user.viewer))

    @router.post(
        "",
        status_code=201,
        operation_id=f"{name}_create",
        responses={201: _json(record, "Created"), **ERRORS},
        openapi_extra=_body(input_schema(spec, partial=False)),
    )
    def create_record(session: SessionDep, user: CurrentUser, body: Annotated[Any, Body()]) -> Response:
        """Create a record. Built-ins sent are ignored; `""` is null for non-text fields; undeclared fields are kept."""
        created, tag = entities.create(session, current(), body, entities.Actor.of(user))
        return record_response(created, tag, 201, f"{base}/{created['id']}")

    @router.post(
        "/bulk",
        status_code=201,
        operation_id=f"{name}_bulk_create",
        responses={201: _json(many, "Created, in input order"), **ERRORS},
        openapi_extra=_body(
            {"type": "array", "maxItems": entities.MAX_BULK, "items": input_schema(spec, partial=False)}
        ),
    )
    def bulk_create(session: SessionDep, user: CurrentUser, body: Annotated[Any, Body()]) -> Response:
        """Create up to 1000 records, all or nothing."""
        created = entities.bulk_create(session, current(), body, entities.Actor.of(user))
        return JSONResponse(created, status_code=201)

    def update(
        record_id: str, session: SessionDep, user: CurrentUser, body: Annotated[Any, Body()], if_match: IfMatch = None
    ) -> Response:
        """Merge the given fields into the record (null stores null). `If-Match` guards against lost updates."""
        actor = entities.Actor.of(user)
        return record_response(
            *entities.update_record(session, current(), record_id, body, actor=actor, if_match=if_match)
        )

    for method in ("PUT", "PATCH"):
        router.add_api_route(
            "/{record_id}",
            update,
            methods=[method],
            operation_id=f"{name}_{method.lower()}",
            responses={200: _json(record, "The updated record"), **ERRORS},
            openapi_extra=_body(input_schema(spec, partial=True)),
        )

    @router.delete("/{record_id}", status_code=204, operation_id=f"{name}_delete", responses=ERRORS)
    def delete_record(
        record_id: str,
        session: SessionDep,
        user: CurrentUser,
        if_match: IfMatch = None,
        purge: Annotated[bool, Query(description="admin: remove for good")] = False,
    ) -> Response:
        """Soft delete (the record goes to the trash); `?purge=true` (admin) removes it for good."""
        if purge:
            if not user.is_admin:
                raise Forbidden("Only an administrator may purge records")
            entities.purge(session, current(), record_id, entities.Actor.of(user))
        else:
            entities.soft_delete(session, current(), record_id, actor=entities.Actor.of(user), if_match=if_match)
        return Response(status_code=204)

    @router.post(
        "/{record_id}/restore", operation_id=f"{name}_restore", responses={200: _json(record, "Restored"), **ERRORS}
    )
    def restore_record(record_id: str, session: SessionDep, user: AdminUser) -> Response:
        """Admin: bring a soft-deleted record back."""
        return record_response(*entities.restore(session, current(), record_id, entities.Actor.of(user)))

    return router


def build_entity_routers() -> list[APIRouter]:
    return [make_router(spec) for spec in MODELLED.values()]
