"""Request bodies decoded by orjson, on every FastAPI route (`JsonRoute`).

The standard library's `json.loads` — what Starlette's `Request.json()` uses — accepts JSON that no
database can store and no client can read back: a lone UTF-16 surrogate (`"a\\ud800b"` became a 500 when
the driver encoded it), `NaN`/`Infinity`, integers of any size, nesting until the interpreter's recursion
limit. orjson refuses the first three of those (integers past 64 bits become floats, which every write path
then measures as a number) and stops at 1024 levels, and FastAPI answers its `JSONDecodeError` (a
subclass of the standard one) with the usual 422 naming the problem. It is also faster.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """An APIRoute whose handler sees a `StrictJsonRequest`. Every router passes `route_class=JsonRoute`
    (FastAPI keeps each route's own class when routers are included in one another)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
