"""Assembles the routers. Everything goes under `protected` (auth required) unless it is on the public
list of API.md §1.1 — so a route added without thought is protected by default."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from backend.deps import get_current_user
from backend.routes import admin, auth, automation, base44, files, health, schemas, users, whatsapp
from backend.routes.entities import build_entity_routers


def build_router() -> APIRouter:
    public = APIRouter()
    public.include_router(health.router)
    public.include_router(auth.public)
    public.include_router(files.public)
    public.include_router(whatsapp.public)
    for router in base44.public:
        public.include_router(router)

    protected = APIRouter(dependencies=[Depends(get_current_user)])
    # The hot paths are matched first (Starlette tries routes in order): the Base44 surface the office's
    # frontend uses (a handful of generic routes, its own order kept: `User/me` before `{entity}/{id}`), then
    # each entity's REST routes. None of these paths overlap (no collection is called `apps`).
    for router in base44.protected:
        protected.include_router(router)
    for entity_router in build_entity_routers():
        protected.include_router(entity_router)
    protected.include_router(auth.router)
    protected.include_router(users.router)
    protected.include_router(files.router)
    protected.include_router(automation.router)
    protected.include_router(whatsapp.router)
    protected.include_router(admin.router)
    protected.include_router(schemas.router)

    root = APIRouter()
    root.include_router(public)
    root.include_router(protected)
    return root
