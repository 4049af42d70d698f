"""Liveness and database reachability (API.md §2)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from sqlalchemy import literal, select, text

from backend import __version__
from backend.concurrency import in_thread
from backend.database import get_engine
from backend.executor import executor
from backend.jsonutil import JSONResponse
from backend.routing import JsonRoute
from backend.schemas.auth import HealthOut

router = APIRouter(tags=["health"], route_class=JsonRoute)
log = logging.getLogger(__name__)


@router.get("/api/health", response_model=HealthOut, responses={503: {"model": HealthOut}}, operation_id="health")
async def health() -> Response:
    """`200` when the app and its database answer — through the write pool and the reads' executor (on
    PostgreSQL they connect separately) — `503` when either does not."""
    try:
        await in_thread(_ping)
        await executor().rows(select(literal(1)))
    except Exception as exc:  # any failure to reach the database is "degraded", never a 500
        log.warning("health check: database unavailable: %s", str(exc).splitlines()[0][:200])
        return JSONResponse({"status": "degraded", "database": "unavailable", "version": __version__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "version": __version__})


def _ping() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
