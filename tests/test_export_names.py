"""Exporting a name nothing is stored under is a 404 naming it — not a 200 with an empty file.

The issue: `/api/admin/export/Contatc` (a misspelling) answered 200 with an empty export, indistinguishable
from an entity that has no records.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import assert_error


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("Contatc", 404, "not_found"),
        ("Workshop", 404, "not_found"),
        ("User", 404, "not_found"),
        ("contacts", 400, "bad_request"),  # not an entity name at all (PascalCase)
        ("contact", 400, "bad_request"),
        ("Bad-Name", 400, "bad_request"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_name_nothing_is_stored_under_is_a_404_naming_it(
    client: Any, admin: dict[str, Any], name: str, status: int, code: str, fmt: str
) -> None:
    body = assert_error(client.get(f"/api/admin/export/{name}?format={fmt}", headers=admin["headers"]), status, code)
    assert name in body["message"]


def test_declared_and_stored_entities_export_even_when_empty(client: Any, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    empty = client.get("/api/admin/export/Property", headers=h)  # declared, no records: a valid empty export
    assert empty.status_code == 200 and empty.json() == []
    workshop = client.post("/api/apps/a1/entities/Workshop", headers=h, json={"name": "t"}).json()
    assert [r["name"] for r in client.get("/api/admin/export/Workshop", headers=h).json()] == ["t"]
    client.delete(f"/api/apps/a1/entities/Workshop/{workshop['id']}", headers=h)  # only in the trash now: still a name
    assert client.get("/api/admin/export/Workshop", headers=h).json() == []
    assert len(client.get("/api/admin/export/Workshop?deleted=true", headers=h).json()) == 1
