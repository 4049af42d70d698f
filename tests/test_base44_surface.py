"""API.md §7.1–§7.3 and §7.5–§7.6 over HTTP: the Base44 verbs on a modelled entity and on the
document store, the User rules, JSON login, invites, integrations and functions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from backend.database import get_sessionmaker
from backend.models import Contact, Document
from tests.conftest import assert_error, make_user

APP = "/api/apps/app123"


def _count(model: Any, **where: Any) -> int:
    with get_sessionmaker()() as session:
        query = select(func.count()).select_from(model).where(model.deleted_at.is_(None))
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(session.scalar(query) or 0)


@pytest.mark.parametrize("entity", ["Contact", "Commission"])
def test_entity_verbs_on_modelled_and_document_store(client: Any, admin: dict[str, Any], entity: str) -> None:
    h = admin["headers"]
    base = f"{APP}/entities/{entity}"
    created = client.post(base, headers=h, json={"full_name": "דנה", "deal": {"rooms": 3}, "tags": ["a"], "price": 5})
    assert created.status_code == 201, created.text
    record = created.json()
    assert len(record["id"]) == 24 and record["created_by"] == "boss@example.com"
    assert record["deal"] == {"rooms": 3} and record["tags"] == ["a"] and record["price"] == 5
    # the form sends the whole record back, built-ins included: a merge that ignores them
    sent = {**record, "id": "x" * 24, "created_date": "2000-01-01T00:00:00.000000", "price": 6}
    updated = client.put(f"{base}/{record['id']}", headers=h, json=sent).json()
    assert updated["id"] == record["id"] and updated["created_date"] == record["created_date"]
    assert updated["price"] == 6 and updated["full_name"] == "דנה" and updated["deal"] == {"rooms": 3}
    assert client.get(f"{base}/{record['id']}", headers=h).json()["price"] == 6

    bulk = client.post(f"{base}/bulk", headers=h, json=[{"full_name": f"n{i}", "price": i} for i in range(3)])
    assert bulk.status_code == 201 and [r["price"] for r in bulk.json()] == [0, 1, 2]
    listed = client.get(base, headers=h, params={"sort": "price", "q": '{"price": {"$lte": 2}}'}).json()
    assert [r["price"] for r in listed] == [0, 1, 2]
    assert client.get(f"{base}/count", headers=h, params={"q": '{"price": {"$gte": 1}}'}).json() == {"count": 3}
    assert [r["price"] for r in client.get(base, headers=h, params={"sort": "-price", "limit": "2"}).json()] == [6, 2]

    page = client.get(f"{base}/v2/list", headers=h, params={"sort": "price", "limit": "2"}).json()
    assert [r["price"] for r in page["items"]] == [0, 1] and page["has_more"] is True
    rest = client.get(
        f"{base}/v2/list", headers=h, params={"sort": "price", "limit": "5", "cursor": page["next_cursor"]}
    )
    assert [r["price"] for r in rest.json()["items"]] == [2, 6] and rest.json() == {
        **rest.json(),
        "has_more": False,
        "next_cursor": None,
    }

    ids = [r["id"] for r in bulk.json()]
    changed = client.put(
        f"{base}/bulk", headers=h, json=[{"id": ids[0], "price": 10}, {"id": ids[1], "note": "x"}]
    ).json()
    assert changed[0]["price"] == 10 and changed[1]["note"] == "x" and changed[1]["price"] == 1
    many = client.patch(
        f"{base}/update-many",
        headers=h,
        json={
            "query": {"price": {"$lt": 5}},
            "data": {"$inc": {"price": 100}, "$set": {"flag": True}, "$push": {"tags": "b"}, "$unset": {"note": ""}},
        },
    )
    assert many.json() == {"success": True, "updated": 2, "has_more": False}
    after = {r["id"]: r for r in client.get(base, headers=h).json()}
    assert after[ids[1]]["price"] == 101 and after[ids[1]]["flag"] is True and "note" not in after[ids[1]]
    assert after[ids[1]]["tags"] == ["b"] and after[ids[0]]["price"] == 10

    assert client.delete(f"{base}/{record['id']}", headers=h).json() == {"success": True}
    assert_error(client.get(f"{base}/{record['id']}", headers=h), 404, "not_found")
    assert_error(client.request("DELETE", base, headers=h, json={}), 400, "bad_request")
    deleted = client.request("DELETE", base, headers=h, json={"price": {"$gte": 100}})
    assert deleted.json() == {"success": True, "deleted": 2}
    assert [r["price"] for r in client.get(base, headers=h).json()] == [10]


def test_document_store_is_scoped_by_entity_name(client: Any, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    client.post(f"{APP}/entities/Invoice", headers=h, json={"name": "A"})
    client.post(f"{APP}/entities/Expense", headers=h, json={"name": "B"})
    assert [r["name"] for r in client.get(f"{APP}/entities/Invoice", headers=h).json()] == ["A"]
    assert _count(Document, entity_name="Invoice") == 1 and _count(Document, entity_name="Expense") == 1
    invoice_id = client.get(f"{APP}/entities/Invoice", headers=h).json()[0]["id"]
    assert_error(client.get(f"{APP}/entities/Expense/{invoice_id}", headers=h), 404, "not_found")


def test_update_many_bad_operator_and_non_admin_delete_many(
    client: Any, admin: dict[str, Any], agent: dict[str, Any]
) -> None:
    h = admin["headers"]
    client.post(f"{APP}/entities/Contact", headers=h, json={"full_name": "x"})
    bad = client.patch(
        f"{APP}/entities/Contact/update-many", headers=h, json={"query": {}, "data": {"$where": {"a": 1}}}
    )
    assert_error(bad, 400, "bad_request")
    assert_error(client.patch(f"{APP}/entities/Contact/update-many", headers=h, json={"data": {}}), 400, "bad_request")
    forbidden = client.request("DELETE", f"{APP}/entities/Contact", headers=agent["headers"], json={"full_name": "x"})
    assert_error(forbidden, 403, "forbidden")
    assert _count(Contact) == 1


@pytest.mark.parametrize("name", ["..%2Fx", "x" * 500, "lowercase", "Bad-Name", "User"])
def test_hostile_entity_names(client: Any, admin: dict[str, Any], name: str) -> None:
    response = client.post(f"{APP}/entities/{name}", headers=admin["headers"], json={"a": 1})
    if name in ("lowercase", "Bad-Name"):
        assert "not a valid entity name" in assert_error(response, 400, "bad_request")["message"]
    assert response.status_code in (400, 403, 404, 405, 422), response.text
    assert "code" in response.json()
    assert _count(Document) == 0


def test_unknown_app_id_is_404_when_configured(client: Any, admin: dict[str, Any], monkeypatch: Any) -> None:
    from backend.config import get_settings

    monkeypatch.setattr(get_settings(), "base44_app_id", "the-app")
    assert_error(client.get("/api/apps/other/entities/Contact", headers=admin["headers"]), 404, "not_found")
    assert client.get("/api/apps/the-app/entities/Contact", headers=admin["headers"]).status_code == 200


def test_user_entity_rules(client: Any, admin: dict[str, Any], agent: dict[str, Any]) -> None:
    me = client.get(f"{APP}/entities/User/me", headers=agent["headers"]).json()
    assert me["email"] == "agent@example.com" and "password_hash" not in me
    changed = client.put(
        f"{APP}/entities/User/me", headers=agent["headers"], json={"full_name": "סוכן", "role": "admin"}
    )
    assert changed.json()["full_name"] == "סוכן" and changed.json()["role"] == "user"
    assert [u["email"] for u in client.get(f"{APP}/entities/User", headers=agent["headers"]).json()] == [
        "agent@example.com"
    ]
    assert len(client.get(f"{APP}/entities/User", headers=admin["headers"]).json()) == 2
    assert_error(client.get(f"{APP}/entities/User/{admin['id']}", headers=agent["headers"]), 403, "forbidden")
    assert_error(
        client.post(f"{APP}/entities/User", headers=admin["headers"], json={"email": "a@b.c"}), 403, "forbidden"
    )
    assert (
        client.put(
            f"{APP}/entities/User/{agent['id']}", headers=admin["headers"], json={"app_role": "office_manager"}
        ).json()["app_role"]
        == "office_manager"
    )


def test_json_login_invite_and_reset(client: Any, admin: dict[str, Any]) -> None:
    ok = client.post(f"{APP}/auth/login", json={"email": "boss@example.com", "password": "password-123"})
    assert ok.status_code == 200 and set(ok.json()) == {"access_token", "user"}
    assert_error(
        client.post(f"{APP}/auth/login", json={"email": "boss@example.com", "password": "nope"}), 401, "unauthorized"
    )
    assert_error(client.post(f"{APP}/auth/login", json=["x"]), 400, "bad_request")
    invite = client.post(
        f"{APP}/users/invite-user", headers=admin["headers"], json={"user_email": "new@example.com", "role": "user"}
    )
    assert invite.status_code == 200, invite.text
    token = invite.json()["invite_url"].split("invite_token=")[1]
    assert (
        client.post(f"{APP}/auth/login", json={"email": "new@example.com", "password": "whatever-1"}).status_code == 401
    )
    assert (
        client.post(
            f"{APP}/auth/reset-password", json={"reset_token": token, "new_password": "chosen-pass-1"}
        ).status_code
        == 200
    )
    assert (
        client.post(f"{APP}/auth/login", json={"email": "new@example.com", "password": "chosen-pass-1"}).status_code
        == 200
    )
    dup = client.post(f"{APP}/users/invite-user", headers=admin["headers"], json={"user_email": "new@example.com"})
    assert_error(dup, 409, "conflict")
    assert client.post(f"{APP}/auth/reset-password-request", json={"email": "nobody@example.com"}).json() == {
        "success": True
    }


def test_public_settings_and_integrations(client: Any, admin: dict[str, Any]) -> None:
    anon = client.get("/api/apps/public/prod/public-settings/by-id/app123")
    assert anon.status_code == 403 and anon.json()["extra_data"] == {"reason": "auth_required"}
    signed = client.get("/api/apps/public/prod/public-settings/by-id/app123", headers=admin["headers"])
    assert signed.status_code == 200 and signed.json()["id"] == "app123"
    h = admin["headers"]
    for name in ("InvokeLLM", "GenerateImage", "ExtractDataFromUploadedFile"):
        assert_error(client.post(f"{APP}/integration-endpoints/Core/{name}", headers=h, json={}), 501, "not_configured")
    assert_error(
        client.post(
            f"{APP}/integration-endpoints/Core/SendEmail", headers=h, json={"to": "a@b.c", "subject": "s", "body": "b"}
        ),
        501,
        "not_configured",
    )
    assert_error(client.post(f"{APP}/integration-endpoints/Core/Nope", headers=h, json={}), 404, "not_found")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    uploaded = client.post(
        f"{APP}/integration-endpoints/Core/UploadFile", headers=h, files={"file": ("a.png", png, "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    fetched = client.get(uploaded.json()["file_url"].split("localhost:8000", 1)[-1])
    assert fetched.status_code == 200 and fetched.content == png
    private = client.post(
        f"{APP}/integration-endpoints/Core/UploadPrivateFile", headers=h, files={"file": ("a.png", png, "image/png")}
    )
    uri = private.json()["file_uri"]
    signed_url = client.post(
        f"{APP}/integration-endpoints/Core/CreateFileSignedUrl", headers=h, json={"file_uri": uri}
    ).json()["signed_url"]
    assert client.get(signed_url.split("localhost:8000", 1)[-1]).content == png


def test_functions(client: Any, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    result = client.post(f"{APP}/functions/generateMatches", headers=h, json={"dry_run": True})
    assert result.status_code == 200 and "evaluated_pairs" in result.json()
    assert_error(
        client.post(f"{APP}/functions/generateMatches", headers=h, json={"min_score": 500}), 422, "validation_error"
    )
    nul = {"property_ids": ["a\u0000b"]}  # no id can hold NUL (PostgreSQL refuses it in any text)
    assert_error(client.post(f"{APP}/functions/generateMatches", headers=h, json=nul), 422, "validation_error")
    assert_error(client.post(f"{APP}/functions/nope", headers=h, json={}), 404, "not_found")
    assert_error(
        client.post(f"{APP}/functions/sendWhatsApp", headers=h, json={"to": "not a phone", "message": "x"}),
        422,
        "validation_error",
    )


def test_non_admin_cannot_invite(client: Any) -> None:
    user = make_user("someone@example.com")
    assert_error(
        client.post(f"{APP}/users/invite-user", headers=user["headers"], json={"user_email": "x@example.com"}),
        403,
        "forbidden",
    )
