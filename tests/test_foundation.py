"""Cross-cutting behaviour: error bodies, size limit, CORS, request ids, protection by default."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import assert_error

# API.md §1.1: the only routes that answer without a bearer token.
PUBLIC = {
    ("GET", "/api/health"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/reset-password"),
    ("POST", "/api/apps/{app_id}/auth/login"),
    ("POST", "/api/apps/{app_id}/auth/reset-password"),
    ("POST", "/api/apps/{app_id}/auth/reset-password-request"),
    ("GET", "/api/apps/auth/logout"),
    ("GET", "/api/apps/public/prod/public-settings/by-id/{app_id}"),
    ("GET", "/api/files/{key}"),
    ("HEAD", "/api/files/{key}"),
    ("GET", "/api/whatsapp/webhook"),
    ("POST", "/api/whatsapp/webhook"),
    ("GET", "/login"),
    ("POST", "/login"),
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_every_route_outside_the_public_list_needs_a_token(client: Any, app: Any) -> None:
    paths = app.openapi()["paths"]
    checked = 0
    for path, operations in paths.items():
        for method in operations:
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            if (method.upper(), path) in PUBLIC:
                continue
            response = client.request(method.upper(), _concrete(path), json={})
            assert response.status_code == 401, f"{method.upper()} {path} answered {response.status_code}"
            assert response.json()["code"] == "unauthorized"
            assert response.headers.get("www-authenticate") == "Bearer"
            checked += 1
    assert checked >= 10  # the walk really walked


def test_public_routes_answer_without_token(client: Any) -> None:
    assert client.get("/api/health").json() == {"status": "ok", "database": "ok", "version": "0.1.0"}
    assert client.get("/openapi.json").status_code == 200


def test_unknown_route_and_wrong_method_have_the_error_body(client: Any, admin: dict[str, Any]) -> None:
    assert_error(client.get("/api/no-such-thing", headers=admin["headers"]), 404, "not_found")
    assert_error(client.delete("/api/health"), 405, "method_not_allowed")


def test_malformed_json_is_422_with_error_body(client: Any, admin: dict[str, Any]) -> None:
    response = client.put(
        "/api/auth/me", headers={**admin["headers"], "Content-Type": "application/json"}, content=b'{"full_name": '
    )
    body = assert_error(response, 422, "validation_error")
    assert isinstance(body["detail"], list)
    assert_error(client.put("/api/auth/me", headers=admin["headers"], json=["a", "list"]), 422, "validation_error")


def test_body_over_limit_is_413_and_nothing_changes(client: Any, admin: dict[str, Any]) -> None:
    big = {"full_name": "x" * (3 * 1024 * 1024)}
    assert_error(client.put("/api/auth/me", headers=admin["headers"], json=big), 413, "payload_too_large")

    def chunks() -> Any:
        yield b'{"full_name": "'
        for _ in range(40):
            yield b"y" * 100_000
        yield b'"}'

    response = client.put(
        "/api/auth/me", headers={**admin["headers"], "Content-Type": "application/json"}, content=chunks()
    )
    assert_error(response, 413, "payload_too_large")
    assert client.get("/api/auth/me", headers=admin["headers"]).json()["full_name"] is None


def test_request_id_on_every_response(client: Any) -> None:
    first = client.get("/api/health")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    echoed = client.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    hostile = client.get("/api/health", headers={"X-Request-ID": "a b;<script>"})
    assert hostile.headers["x-request-id"] != "a b;<script>"
    assert client.get("/api/nothing").headers["x-request-id"]


@pytest.mark.parametrize("origin,allowed", [("http://localhost:5173", True), ("https://evil.example", False)])
def test_cors_preflight_for_sdk_headers(client: Any, origin: str, allowed: bool) -> None:
    response = client.options(
        "/api/auth/me",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type,x-app-id,x-origin-url,x-environment",
        },
    )
    if allowed:
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
        assert "x-app-id" in response.headers["access-control-allow-headers"].lower()
    else:
        assert "access-control-allow-origin" not in response.headers


def test_cors_on_simple_requests_and_errors_and_vary_without_an_origin(client: Any, admin: dict[str, Any]) -> None:
    """Requests with an Origin go through Starlette's CORSMiddleware; those without get only its `Vary`."""
    ours = {**admin["headers"], "Origin": "http://localhost:5173"}
    listed = client.get("/api/contacts", headers=ours)
    assert listed.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "x-total-count" in listed.headers["access-control-expose-headers"].lower()
    assert "Origin" in listed.headers["vary"]
    # an error is readable by the page too: 413 from the size limit, 401 from the session check
    huge = client.post("/api/contacts", headers=ours, content=b"[" + b"1," * 2_000_000 + b"1]")
    assert huge.status_code == 413 and huge.headers["access-control-allow-origin"] == "http://localhost:5173"
    no_token = client.get("/api/contacts", headers={"Origin": "http://localhost:5173"})
    assert no_token.status_code == 401 and no_token.headers["access-control-allow-origin"] == "http://localhost:5173"
    other = client.get("/api/contacts", headers={**admin["headers"], "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    plain = client.get("/api/contacts", headers=admin["headers"])
    assert plain.headers["vary"] == "Origin" and "access-control-allow-origin" not in plain.headers
    ids = {client.get("/api/health").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


def test_settings_refuse_example_secrets_outside_development() -> None:
    from pydantic import ValidationError

    from backend.config import EXAMPLE_SECRET_KEY, Settings

    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key=EXAMPLE_SECRET_KEY, admin_password="x" * 12)
    with pytest.raises(ValidationError, match="ADMIN_PASSWORD"):
        Settings(environment="production", secret_key="s" * 40, admin_password="test123")
    ok = Settings(environment="development", secret_key=EXAMPLE_SECRET_KEY, admin_password="test123")
    assert ok.environment == "development"


def test_unexpected_error_is_a_bare_500_with_request_id(app: Any, caplog: Any) -> None:
    from fastapi.testclient import TestClient

    @app.get("/api/_boom_for_test", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/api/_boom_for_test", headers={"X-Request-ID": "req-500-check"})
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", "") != "/api/_boom_for_test"]
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal server error",
        "message": "Internal server error",
        "code": "internal_error",
    }
    assert response.headers["x-request-id"] == "req-500-check"
    assert "secret internals" not in response.text
    assert any("unhandled error" in r.getMessage() for r in caplog.records)
