"""Private files follow the records that link to them: the uploader, an admin, or whoever may read a record
holding the file's key gets a signed link or the bytes with their token; anyone else is told it does not
exist — on the token path and on CreateFileSignedUrl alike."""

from __future__ import annotations

from typing import Any

from tests.conftest import assert_error, make_user
from tests.files_support import png, upload

APP = "/api/apps/a1"


def _signed(client: Any, user: dict[str, Any], key: str) -> Any:
    body = {"file_uri": key, "expires_in": 60}
    return client.post(f"{APP}/integration-endpoints/Core/CreateFileSignedUrl", headers=user["headers"], json=body)


def _may_fetch(client: Any, user: dict[str, Any], key: str) -> bool:
    by_token = client.get(f"/api/files/{key}", headers=user["headers"])
    by_link = _signed(client, user, key)
    assert by_token.status_code in (200, 404) and by_link.status_code in (200, 404), (by_token.text, by_link.text)
    assert (by_token.status_code == 200) is (by_link.status_code == 200)
    if by_token.status_code == 404:
        assert_error(by_token, 404, "not_found")
        assert_error(by_link, 404, "not_found")
    return by_token.status_code == 200


def test_a_private_file_is_read_through_the_records_that_link_to_it(client: Any, admin: dict[str, Any]) -> None:
    manager = make_user("m1@office.example", app_role="office_manager")
    other_manager = make_user("m2@office.example", app_role="office_manager")
    agent = make_user("a1@office.example", app_role="agent")
    key = upload(client, manager, png(), private="true").json()["file_uri"]

    # only the uploader and the admin: no record links to it yet
    assert _may_fetch(client, manager, key) and _may_fetch(client, admin, key)
    assert not _may_fetch(client, other_manager, key) and not _may_fetch(client, agent, key)

    # linked from a marketing lead: the managers may read it, the agent may not (leads are the managers')
    lead = client.post(f"{APP}/entities/MarketingLead", headers=manager["headers"],
                       json={"first_name": "דנה", "phone": "0525550000", "documents": [key]})  # fmt: skip
    assert lead.status_code == 201, lead.text
    assert _may_fetch(client, other_manager, key) and not _may_fetch(client, agent, key)

    # linked from a contact too: now the agent reads it; deleted again, no longer
    contact = client.post("/api/contacts", headers=manager["headers"], json={"full_name": "דנה", "notes": key})
    assert _may_fetch(client, agent, key)
    assert client.delete(f"/api/contacts/{contact.json()['id']}", headers=manager["headers"]).status_code == 204
    assert not _may_fetch(client, agent, key)

    # a public file stays what Base44 makes it: any signed-in user
    public = upload(client, manager, png(), private="false").json()["file_uri"]
    assert client.get(f"/api/files/{public}", headers=agent["headers"]).status_code == 200
