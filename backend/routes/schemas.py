"""Admin: the entity schemas the server applies — read them, and store the office's own (types, rules)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from backend.deps import AdminUser, SessionDep
from backend.jsonutil import JSONResponse
from backend.routing import JsonRoute
from backend.services import schemas

router = APIRouter(prefix="/api/admin/schemas", tags=["admin"], route_class=JsonRoute)


@router.get("", operation_id="admin_schemas")
def list_schemas(_: AdminUser) -> JSONResponse:
    """Every entity with a known schema, as Base44 schemas: fields, required, row rules (`rls`), and
    whether it is declared by this server and/or stored (imported or set here)."""
    return JSONResponse([schemas.describe(name) for name in schemas.names()])


@router.get("/{entity}", operation_id="admin_schema")
def get_schema(entity: str, _: AdminUser) -> JSONResponse:
    """One entity's schema as applied (an entity with none answers its bare shape)."""
    return JSONResponse(schemas.describe(entity))


@router.put("/{entity}", operation_id="admin_schema_put")
def put_schema(entity: str, session: SessionDep, _: AdminUser, body: Annotated[Any, Body()]) -> JSONResponse:
    """Store a Base44 entity schema for `entity`: it types the fields of an entity this server does not
    declare, adds typed fields to one it does (never retypes a declared field), and its `rls` block, if
    any, replaces the entity's row rules. Takes effect on the next request in every process."""
    return JSONResponse(schemas.describe(entity, schemas.save_document(session, entity, body, source="admin API")))


@router.delete("/{entity}", status_code=204, operation_id="admin_schema_delete")
def delete_schema(entity: str, session: SessionDep, _: AdminUser) -> Response:
    """Forget the stored schema of `entity` (a declared entity keeps its declaration and default rules)."""
    schemas.remove(session, entity)
    return Response(status_code=204)
