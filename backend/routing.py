"""The app's router and route class: FastAPI's, with the per-request costs it does not need taken out.

**Matching by path prefix.** Starlette tries every route in order until one matches — with ~300 routes
(27 entities × 9 REST routes and the rest) that regex scan was ~15 % of a GET's CPU time, measured.
`IndexedRouter` groups the routes by the first two segments of their path when both are literal
(`/api/contacts/{id}` → `api/contacts`): a request is tried only against its own group and the few routes
whose first segments are parameters, **in the routes' original order**, so the first full match, the partial
match (405) and the answer are exactly what the full scan would give. A request no candidate matches falls
back to Starlette's own scan, which then answers 404 or the trailing-slash redirect as before.

**Direct calls.** Every route is a `JsonRoute`: its JSON bodies are read by orjson (backend/jsonbody.py), and
a route that needs nothing but the session check and its path's parameters — the list and get routes of both
surfaces — calls its endpoint directly: the same `get_current_user`, the same path-parameter validation
(FastAPI's `request_params_to_args`), the same exception handlers, without FastAPI's general dependency
solver and its two exit stacks per request (~10 % of a GET's CPU, measured). Anything else about a route —
a body, a query or header parameter, a session, another dependency, an override in force — takes
FastAPI's own handler.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.dependencies.utils import get_typed_return_annotation, request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.deps import current_user_of, get_current_user
from backend.jsonbody import StrictJsonRequest

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


class JsonRoute(APIRoute):
    """The route class of every router (FastAPI keeps each route's own class when routers are included in one
    another): orjson bodies everywhere, direct calls where they apply (see the module's docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.direct = _direct_app(self, general=self.app)
        if self.direct is not None:
            self.app = self.direct

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict


def _direct_app(route: APIRoute, general: ASGIApp) -> ASGIApp | None:
    """An ASGI app calling the endpoint with the signed-in user and its validated path parameters, or None when
    the route needs FastAPI's general handler."""
    dependant = route.dependant
    call = dependant.call
    if (
        call is None
        or not inspect.iscoroutinefunction(call)
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or not dependant.dependencies
        or any(sub.call is not get_current_user for sub in dependant.dependencies)
        or not _returns_response(call)
        or any(
            getattr(dependant, name)
            for name in (
                "websocket_param_name",
                "http_connection_param_name",
                "response_param_name",
                "background_tasks_param_name",
                "security_scopes_param_name",
            )
        )
    ):
        return None
    path_params = dependant.path_params
    request_name = dependant.request_param_name
    user_names = [sub.name for sub in dependant.dependencies if sub.name]
    overrides = route.dependency_overrides_provider

    async def endpoint(request: Request) -> Response:
        user = await current_user_of(request)
        values, errors = request_params_to_args(path_params, request.path_params)
        if errors:
            raise RequestValidationError(errors)
        if request_name:
            values[request_name] = request
        for name in user_names:
            values[name] = user
        response: Response = await call(**values)
        return response

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if getattr(overrides, "dependency_overrides", None):  # a test's override: FastAPI's handler honours it
            await general(scope, receive, send)
            return
        request = StrictJsonRequest(scope, receive, send)

        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            response = await endpoint(request)
            await response(scope, receive, send)

        await wrap_app_handling_exceptions(respond, request)(scope, receive, send)

    return app


def _returns_response(call: Callable[..., Any]) -> bool:
    annotation = get_typed_return_annotation(call)
    return inspect.isclass(annotation) and issubclass(annotation, Response)
