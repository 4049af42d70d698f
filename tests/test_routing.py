"""The app's router finds routes by path prefix (backend/routing.py): every request must reach exactly the route
Starlette's full scan in order would have chosen — the same full match, the same 405, the same 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import BaseRoute, Match, Route

from backend.routing import IndexedRouter, JsonRoute
from tests.conftest import assert_error

PARAM = re.compile(r"\{[^}]+\}")


def _scope(path: str, method: str) -> dict[str, Any]:
    return {"type": "http", "path": path, "root_path": "", "method": method, "headers": [], "query_string": b""}


def _first(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[BaseRoute | None, BaseRoute | None]:
    """(the first full match, the first partial match) — Starlette's own order of preference."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route, partial
        if match is Match.PARTIAL and partial is None:
            partial = route
    return None, partial


def _probes(app: Any) -> list[tuple[str, str]]:
    """A concrete path for every route (its parameters filled in), under every method, and some paths near them."""
    paths: set[str] = {"/", "/api", "/api/", "/api/nothing-here", "/api/apps", "/api/apps/a1", "/nope/x/y"}
    for route in app.router.routes:
        if isinstance(route, Route):
            concrete = PARAM.sub("x1", route.path)
            paths |= {concrete, concrete + "/", concrete + "/extra", concrete.rstrip("/") + "/trash"}
    return [(path, method) for path in sorted(paths) for method in ("GET", "POST", "PUT", "PATCH", "DELETE")]


def test_the_index_chooses_what_the_full_scan_chooses_for_every_route_and_method(app: Any) -> None:
    router = app.router
    assert isinstance(router, IndexedRouter)
    probes = _probes(app)
    assert len(probes) > 1000  # every route, every method
    chosen = 0
    for path, method in probes:
        scope = _scope(path, method)
        expected = _first(router.routes, scope)
        candidates = router.candidates(path)
        assert _first(candidates, scope) == expected, (path, method)
        chosen += expected != (None, None)
    assert chosen > 500
    # the index really is smaller than the scan for the collections
    assert len(router.candidates("/api/contacts/x1")) < len(router.routes) / 10


def test_a_route_added_after_the_first_request_is_found(app: Any) -> None:
    router = app.router
    router.candidates("/api/contacts")
    before = len(router.routes)

    async def probe() -> None:
        return None

    router.add_api_route("/api/zz-late-probe/ping", probe, methods=["GET"])
    try:
        assert any(
            getattr(r, "path", "") == "/api/zz-late-probe/ping" for r in router.candidates("/api/zz-late-probe/ping")
        )
    finally:
        del router.routes[before:]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("DELETE", "/api/contacts", 405, "method_not_allowed"),  # a partial match: the path exists, not the method
        ("GET", "/api/no_such_collection", 404, "not_found"),
        ("GET", "/api/contacts/x1/y/z", 404, "not_found"),
    ],
)
def test_partial_and_missing_routes_answer_as_before(
    client: Any, admin: dict[str, Any], method: str, path: str, status: int, code: str
) -> None:
    assert_error(client.request(method, path, headers=admin["headers"]), status, code)


def test_the_hot_routes_answer_through_the_index(client: Any, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    made = client.post("/api/contacts", headers=h, json={"full_name": "ניסיון"}).json()
    assert client.get(f"/api/contacts/{made['id']}", headers=h).json()["full_name"] == "ניסיון"
    assert [r["id"] for r in client.get("/api/contacts", headers=h).json()] == [made["id"]]


def _direct(app: Any) -> dict[tuple[str, str], bool]:
    return {
        (route.path, method): route.direct is not None
        for route in app.router.routes
        if isinstance(route, JsonRoute)
        for method in route.methods
    }


def test_the_list_and_get_routes_are_called_directly_and_nothing_that_needs_more(app: Any) -> None:
    direct = _direct(app)
    for hot in [
        ("/api/contacts", "GET"),
        ("/api/contacts/{record_id}", "GET"),
        ("/api/property_brokerage", "GET"),
        ("/api/apps/{app_id}/entities/{entity}", "GET"),
        ("/api/apps/{app_id}/entities/{entity}/{record_id}", "GET"),
    ]:
        assert direct[hot], hot
    for general in [
        ("/api/contacts", "POST"),  # a body and a session
        ("/api/contacts/{record_id}", "PATCH"),
        ("/api/contacts/trash", "GET"),  # another dependency (the admin check)
        ("/api/auth/login", "POST"),  # public
        ("/api/apps/{app_id}/entities/{entity}/{record_id}", "DELETE"),
    ]:
        assert not direct[general], general


def _answers(client: Any, headers: dict[str, str], record_id: str) -> list[tuple[int, Any, str | None]]:
    forged = {"Authorization": "Bearer " + "x" * 40}
    calls = [
        ("/api/contacts", headers),
        (f"/api/contacts/{record_id}", headers),
        ("/api/contacts/no-such-id", headers),
        ("/api/contacts", {}),  # no token
        (f"/api/contacts/{record_id}", forged),
        ("/api/contacts?limit=abc", headers),
        ("/api/apps/a1/entities/Contact", headers),
        (f"/api/apps/{'a' * 200}/entities/Contact", headers),  # past the app id's max_length: 422
        (f"/api/apps/a1/entities/{'C' * 300}/{record_id}", headers),
        ("/api/apps/a1/entities/Contact/count", {}),
    ]
    out = []
    for path, h in calls:
        response = client.get(path, headers=h)
        body = response.json()
        if isinstance(body, dict) and "request_id" in body:
            body = {k: v for k, v in body.items() if k != "request_id"}
        out.append((response.status_code, body, response.headers.get("www-authenticate")))
    return out


def test_a_direct_call_answers_exactly_what_fastapis_handler_answers(
    app: Any, client: Any, admin: dict[str, Any]
) -> None:
    made = client.post("/api/contacts", headers=admin["headers"], json={"full_name": "ישיר"}).json()
    direct = _answers(client, admin["headers"], made["id"])
    assert {status for status, _, _ in direct} == {200, 400, 401, 404, 422}

    async def unused() -> None:
        return None

    app.dependency_overrides[unused] = unused  # any override in force sends every route through FastAPI's handler
    try:
        general = _answers(client, admin["headers"], made["id"])
    finally:
        del app.dependency_overrides[unused]
    assert direct == general
