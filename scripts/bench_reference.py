# ruff: noqa: S608, E501 - fixed SQL with inlined validated integers; long SQL lines read better whole
"""The bare reference handler for scripts/bench.py: Starlette + asyncpg + orjson, no auth, no framework.

It runs the same page queries as the app so the ratio app/reference measures our overhead only.
Run by bench.py as `uvicorn scripts.bench_reference:app` with BENCH_REF_DSN set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

COLUMNS = (
    "id, full_name, phone, email, whatsapp_id, whatsapp_link, address, city, notes, "
    "to_char(created_date, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS created_date, "
    "to_char(updated_date, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS updated_date, created_by, created_by_id, is_sample, extra"
)
QUERIES = {
    # Columns are qualified in ORDER BY (the output names are formatted text). LIMIT/OFFSET are inlined (validated ints): as bound parameters PostgreSQL's generic plan for a
    # prepared statement cannot know the limit and falls back to sorting the whole table.
    "page": f"SELECT {COLUMNS} FROM contacts WHERE deleted_at IS NULL ORDER BY contacts.created_date DESC, contacts.id DESC LIMIT {{limit}} OFFSET {{skip}}",
    "filtered": f"SELECT {COLUMNS} FROM contacts WHERE deleted_at IS NULL AND city = $1 "
    "ORDER BY contacts.full_name ASC NULLS FIRST, contacts.id ASC LIMIT {limit}",
    "cursor": f"SELECT {COLUMNS} FROM contacts WHERE deleted_at IS NULL AND (contacts.created_date, contacts.id) < ($1, $2) "
    "ORDER BY contacts.created_date DESC, contacts.id DESC LIMIT {limit}",
    "one": f"SELECT {COLUMNS} FROM contacts WHERE id = $1 AND deleted_at IS NULL",
}
TIMES = "to_char(created_date, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS created_date, to_char(updated_date, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS updated_date"
LISTING_COLUMNS = (
    "id, contact_id, source, status, category, listing_type, property_type, price, city, area, street, building_number, "
    f"apartment_number, rooms, floor, total_floors, parking, air_conditioning, storage, image_urls, handler, {TIMES}, "
    "created_by, created_by_id, is_sample, extra"
)
# The office's brokerage listings, as the frontend reads them: the newest first, a page or the whole list.
LISTINGS = f"SELECT {LISTING_COLUMNS} FROM property_brokerage WHERE deleted_at IS NULL ORDER BY property_brokerage.created_date DESC, property_brokerage.id DESC LIMIT {{limit}}"
pool: Any = None


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(os.environ["BENCH_REF_DSN"], min_size=4, max_size=16)
    yield
    await pool.close()


def _record(row: Any) -> dict[str, Any]:
    record = dict(row)
    if record.get("image_urls") is not None:  # jsonb arrives as text: decoded like the app decodes it
        record["image_urls"] = orjson.loads(record["image_urls"])
    extra = record.pop("extra")
    if extra:
        record.update(orjson.loads(extra))
    return record


def _rows(rows: list[Any]) -> bytes:
    return orjson.dumps([_record(row) for row in rows])


async def page(request: Request) -> Response:
    p = request.query_params
    limit, skip = int(p.get("limit", 50)), int(p.get("skip", 0))
    if "city" in p:
        rows = await pool.fetch(QUERIES["filtered"].format(limit=limit), p["city"])
    elif "after_date" in p:
        import datetime as dt

        after = dt.datetime.fromisoformat(p["after_date"])
        rows = await pool.fetch(QUERIES["cursor"].format(limit=limit), after, p["after_id"])
    else:
        rows = await pool.fetch(QUERIES["page"].format(limit=limit, skip=skip))
    return Response(_rows(rows), media_type="application/json")


async def one(request: Request) -> Response:
    rows = await pool.fetch(QUERIES["one"], request.path_params["record_id"])
    return Response(orjson.dumps(_record(rows[0])), media_type="application/json")


DOCUMENTS = f"SELECT id, {TIMES}, created_by, created_by_id, is_sample, extra FROM documents WHERE entity_name = $1 AND deleted_at IS NULL ORDER BY documents.created_date DESC, documents.id DESC LIMIT {{limit}}"


async def documents(request: Request) -> Response:
    limit = int(request.query_params.get("limit", 5000))
    rows = await pool.fetch(DOCUMENTS.format(limit=limit), request.path_params["entity"])
    return Response(_rows(rows), media_type="application/json")


async def listings(request: Request) -> Response:
    rows = await pool.fetch(LISTINGS.format(limit=int(request.query_params.get("limit", 5000))))
    return Response(_rows(rows), media_type="application/json")


app = Starlette(
    routes=[
        Route("/contacts", page),
        Route("/contacts/{record_id}", one),
        Route("/listings", listings),
        Route("/documents/{entity}", documents),
    ],
    lifespan=lifespan,
)
