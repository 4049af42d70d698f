"""Route matching by path prefix: the app's one router, with Starlette's semantics and without its scan.

Starlette tries every route in order until one matches — with ~300 routes (27 entities × 9 REST routes
and the rest) that regex scan was ~15 % of a GET's CPU time, measured. `IndexedRouter` groups the routes by
the first two segments of their path when both are literal (`/api/contacts/{id}` → `api/contacts`): a
request is tried only against its own group and the few routes whose first segments are parameters, **in
the routes' original order**, so the first full match, the partial match (405) and the answer are exactly
what the full scan would give. A request no candidate matches falls back to Starlette's own scan, which
then answers 404 or the trailing-slash redirect as before.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

Key = tuple[str, str]


def route_key(path: str) -> Key | None:
    """The literal first two segments of a route's path, or None when either holds a parameter (or the path
    has fewer): such a route is a candidate for every request."""
    segments = path.split("/")[1:3]
    if len(segments) < 2 or any("{" in segment for segment in segments):
        return None
    return segments[0], segments[1]


def request_key(path: str) -> Key:
    segments = path.split("/", 3)[1:3]
    return (segments[0], segments[1]) if len(segments) == 2 else (segments[0] if segments else "", "")


def index_routes(app: FastAPI) -> None:
    """Make `app`'s router an IndexedRouter. FastAPI builds its router itself, so the class of that object is
    swapped (every reference to it stays valid); Starlette bound the router's entry point at construction, so it
    is bound again — to our `app`, as there is no router-level middleware to keep."""
    router = app.router
    if router.middleware_stack != router.app:
        raise RuntimeError("the router has its own middleware; IndexedRouter would bypass it")
    router.__class__ = IndexedRouter
    router.middleware_stack = router.app


class IndexedRouter(APIRouter):
    """An APIRouter that finds a request's route among its prefix group (see the module's docstring)."""

    _index: dict[Key, list[BaseRoute]]
    _anywhere: list[BaseRoute]
    _indexed: int = -1

    def candidates(self, path: str) -> list[BaseRoute]:
        if self._indexed != len(self.routes):  # built on first use, again if routes were added since
            self._build()
        return self._index.get(request_key(path), self._anywhere)

    def _build(self) -> None:
        keys = [route_key(r.path) if isinstance(r, Route | WebSocketRoute) else None for r in self.routes]
        self._anywhere = [route for route, key in zip(self.routes, keys, strict=True) if key is None]
        self._index = {
            key: [route for route, other in zip(self.routes, keys, strict=True) if other in (key, None)]
            for key in set(keys)
            if key is not None
        }
        self._indexed = len(self.routes)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        partial = partial_scope = None
        for route in self.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None and partial_scope is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)  # nothing here: Starlette's scan answers (404, slash redirect)
