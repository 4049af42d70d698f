"""create_app(): settings, middleware, routers, lifespan — nothing else."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from backend import __version__, executor
from backend.config import get_settings, settings_or_exit
from backend.jsonutil import JSONResponse
from backend.logs import configure_logging
from backend.middleware import BodySizeLimitMiddleware, EdgeMiddleware
from backend.routes import build_router
from backend.routes.base44 import realtime
from backend.routes.errors import install_error_handlers
from backend.routing import index_routes
from backend.services import outbox, reminders, rules
from backend.services.matching import register_hooks
from backend.services.whatsapp.sender import start_inapp_sender, stop_inapp_sender

ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "Accept",
    "X-App-Id",
    "X-Environment",
    "X-Origin-URL",
    "Base44-Functions-Version",
    "Idempotency-Key",
    "If-Match",
    "X-Request-ID",
    "X-Base44-Anonymous-Id",  # 0.8 SDK in a browser, on calls without a token (login, public settings)
]
EXPOSED_HEADERS = ["X-Total-Count", "ETag", "Location", "X-Next-Cursor", "X-Request-ID"]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    start_inapp_sender()  # WHATSAPP_INAPP_SENDER=false when scripts/worker.py sends instead
    if get_settings().jobs_inapp:  # JOBS_INAPP=false when scripts/worker.py drains the outbox instead
        outbox.start_inapp()
    await executor.open_pool()  # PostgreSQL reads over asyncpg; connects on first use
    await realtime.start()  # this process's sockets: LISTEN on PostgreSQL, in-process on SQLite
    # Everything built so far (modules, routes, metadata: ~320,000 objects) lives as long as the
    # process. Frozen, it is left out of the cyclic collector's full passes, which otherwise walked it
    # all every few seconds under load — a 130–160 ms stall of every request in flight (measured).
    if not gc.get_freeze_count():  # once per process (tests start many apps)
        gc.collect()
        gc.freeze()
    yield
    await realtime.stop()
    await executor.close_pool()
    outbox.stop_inapp()
    stop_inapp_sender()
    from backend.database import get_engine

    get_engine().dispose()


def create_app() -> FastAPI:
    settings = settings_or_exit()  # every settings problem in plain words, and exit 78 — not a traceback
    configure_logging(settings.log_level, settings.log_format)
    docs = settings.docs_enabled
    app = FastAPI(
        title="Real-estate CRM backend",
        version=__version__,
        description="Self-hosted replacement for the Base44 platform: REST surface and Base44-compatible surface.",
        default_response_class=JSONResponse,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    register_hooks()  # matching and alerts (a bad MATCH_PAIRINGS stops the start here)
    reminders.register()
    rules.check_declared()  # a malformed row rule stops the app here, naming the entity and the rule
    install_error_handlers(app)
    index_routes(app)  # routes found by path prefix, not by trying all ~300 in turn (backend/routing.py)
    app.include_router(build_router())
    app.add_middleware(BodySizeLimitMiddleware, limit=settings.max_body_bytes)
    origins = settings.cors_list
    cors = {
        "allow_origins": origins,
        "allow_credentials": "*" not in origins,
        "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": ALLOWED_HEADERS,
        "expose_headers": EXPOSED_HEADERS,
        "max_age": 600,
    }
    # socket.io at /ws-user-apps/socket.io/ beside the routes; request ids, CORS (backend/middleware.py)
    app.add_middleware(EdgeMiddleware, cors=cors, mounts={realtime.PATH: realtime.asgi_app()})
    return app


app = create_app()
