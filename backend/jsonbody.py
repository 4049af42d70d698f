"""Request bodies decoded by orjson, on every FastAPI route (`JsonRoute`, backend/routing.py).

The standard library's `json.loads` — what Starlette's `Request.json()` uses — accepts JSON that no
database can store and no client can read back: a lone UTF-16 surrogate (`"a\\ud800b"` became a 500 when
the driver encoded it), `NaN`/`Infinity`, integers of any size, nesting until the interpreter's recursion
limit. orjson refuses the first three of those (integers past 64 bits become floats, which every write path
then measures as a number) and stops at 1024 levels, and FastAPI answers its `JSONDecodeError` (a
subclass of the standard one) with the usual 422 naming the problem. It is also faster.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json
