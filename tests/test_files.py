"""Files (API.md §5): round trips, access by signature or token, ranges, deletion — on both backends."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.services import files as file_service
from backend.services.storage import valid_key
from tests import files_support
from tests.conftest import assert_error, make_user
from tests.files_support import (
    OFFICE_TYPES,
    committed_path,
    file_rows,
    office_zip,
    ole,
    path_of,
    pdf,
    png,
    stored_objects,
    upload,
)

# The backend-switching fixtures (pytest finds them by these names).
s3_endpoint = files_support.s3_endpoint
storage = files_support.storage


def test_round_trip_bytes_metadata_and_headers(client: Any, agent: dict[str, Any], storage: Any) -> None:
    data = png(5000)
    response = upload(client, agent, data, name="חוזה שכירות.png")
    assert response.status_code == 201, response.text
    body = response.json()
    key = body["file_uri"]
    assert valid_key(key) and key.endswith(".png")
    assert body["file_name"] == "חוזה שכירות.png"
    assert body["size"] == 5000 and body["content_type"] == "image/png" and body["private"] is False
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["file_url"].startswith(get_settings().public_url + f"/api/files/{key}?sig=")

    [row] = file_rows()
    assert (row.key, row.name, row.size, row.sha256) == (key, body["file_name"], 5000, body["sha256"])
    assert (row.created_by, row.created_by_id, row.private) == (agent["email"], agent["id"], False)
    stored = stored_objects(storage)
    assert stored == [committed_path(key) if storage.__class__.__name__ == "LocalStorage" else key]

    fetched = client.get(path_of(body["file_url"]))  # no token: the signature is the capability
    assert fetched.status_code == 200 and fetched.content == data
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["content-length"] == "5000"
    assert fetched.headers["etag"] == f'"{body["sha256"]}"'
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert fetched.headers["content-disposition"].startswith("inline;")
    assert "filename*=UTF-8''%D7%97" in fetched.headers["content-disposition"]

    with_token = client.get(f"/api/files/{key}", headers=agent["headers"])
    assert with_token.status_code == 200 and with_token.content == data

    head = client.head(path_of(body["file_url"]))
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "5000"


def test_multipart_sized_upload_round_trip(client: Any, agent: dict[str, Any], storage: Any) -> None:
    """Past one S3 part (8 MiB): parts go straight to the final key; bytes come back identical."""
    data = pdf(12 * 1024 * 1024 + 123)
    body = upload(client, agent, data, name="scan.pdf", ctype="application/pdf").json()
    assert body["size"] == len(data) and body["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(stored_objects(storage)) == 1
    fetched = client.get(path_of(body["file_url"]))
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == body["sha256"]
    assert fetched.headers["content-disposition"].startswith("inline;")
    tail = client.get(path_of(body["file_url"]), headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]


@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_office_files_are_told_apart_by_their_entries(
    client: Any, agent: dict[str, Any], storage: Any, kind: str
) -> None:
    # 9 MiB of padding first: the type is known only at the end, after S3 parts went to a scratch key.
    data = office_zip(kind, padding=9 * 1024 * 1024)
    body = upload(client, agent, data, name=f"report.{kind}", ctype="application/octet-stream").json()
    assert body["content_type"] == OFFICE_TYPES[kind] and body["file_uri"].endswith(f".{kind}")
    assert len(stored_objects(storage)) == 1  # the scratch copy is gone
    fetched = client.get(path_of(body["file_url"]))
    assert fetched.content == data and fetched.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (ole("WordDocument"), "old.doc", "application/msword"),
        (ole("Workbook"), "old.xls", "application/vnd.ms-excel"),
        ("שם,טלפון\nדנה,050-1234567\n".encode(), "contacts.csv", "text/csv"),
        ("hello, שלום\n".encode(), "note.txt", "text/plain"),
    ],
)
def test_other_allowed_types(client: Any, agent: dict[str, Any], data: bytes, name: str, expected: str) -> None:
    body = upload(client, agent, data, name=name, ctype="application/octet-stream").json()
    assert body["content_type"] == expected
    fetched = client.get(path_of(body["file_url"]))
    assert fetched.content == data
    assert fetched.headers["content-type"].split(";")[0] == expected
    inline = expected == "text/plain"
    assert fetched.headers["content-disposition"].startswith("inline;" if inline else "attachment;")


def test_private_file_needs_an_expiring_link_or_a_token(client: Any, agent: dict[str, Any], storage: Any) -> None:
    body = upload(client, agent, png(), private="true").json()
    key = body["file_uri"]
    assert body["private"] is True and body["file_url"] is None
    assert file_rows()[0].private is True

    forged_public = path_of(file_service.public_url(key))  # a genuine never-expiring signature is not enough
    assert_error(client.get(forged_public), 403, "forbidden")
    assert_error(client.get(f"/api/files/{key}"), 401, "unauthorized")
    assert client.get(f"/api/files/{key}", headers=agent["headers"]).status_code == 200

    with get_sessionmaker()() as session:
        link = file_service.create_signed_url(session, key, 60)
    assert "expires=" in link
    assert client.get(path_of(link)).status_code == 200


def test_signature_tampering_and_expiry(client: Any, agent: dict[str, Any], monkeypatch: Any) -> None:
    first = upload(client, agent, png()).json()
    second = upload(client, agent, png()).json()
    key, other = first["file_uri"], second["file_uri"]
    sig = first["file_url"].split("sig=")[1]

    assert_error(client.get(f"/api/files/{other}?sig={sig}"), 403, "forbidden")  # another key's signature
    link = file_service.signed_url(key, 60)
    expires = int(link.split("expires=")[1].split("&")[0])
    link_sig = link.split("sig=")[1]
    assert client.get(f"/api/files/{key}?expires={expires}&sig={link_sig}").status_code == 200
    assert_error(client.get(f"/api/files/{key}?expires={expires + 1}&sig={link_sig}"), 403, "forbidden")
    assert_error(client.get(f"/api/files/{key}?sig={link_sig}"), 403, "forbidden")  # expiry dropped
    assert_error(client.get(f"/api/files/{key}?expires=abc&sig={link_sig}"), 403, "forbidden")
    flipped = sig[:-1] + ("B" if sig.endswith("A") else "A")
    assert_error(client.get(f"/api/files/{key}?sig={flipped}"), 403, "forbidden")
    assert_error(client.get(f"/api/files/{key}?sig=" + "x" * 5000), 403, "forbidden")

    expired = file_service.signed_url(key, -1)
    body = assert_error(client.get(path_of(expired)), 403, "forbidden")
    assert "expired" in body["message"]

    monkeypatch.setattr(get_settings(), "secret_key", "another-secret-key-that-is-long-enough-0123456789")
    wrong_secret = path_of(file_service.public_url(key))
    monkeypatch.undo()
    assert_error(client.get(wrong_secret), 403, "forbidden")

    # A genuine signature for a key that does not exist (e.g. deleted): 404, after the signature check.
    ghost = "0" * 32 + ".png"
    assert_error(client.get(path_of(file_service.public_url(ghost))), 404, "not_found")
    # A bad signature with a valid token still gets in (the SDK may send both).
    assert client.get(f"/api/files/{key}?sig=bogus", headers=agent["headers"]).status_code == 200


def test_range_and_conditional_requests(client: Any, agent: dict[str, Any], storage: Any) -> None:
    data = png(1000)
    body = upload(client, agent, data).json()
    url, etag = path_of(body["file_url"]), f'"{body["sha256"]}"'

    def get(range_value: str, **headers: str) -> Any:
        return client.get(url, headers={"Range": range_value, **headers})

    for spec, piece, first, last in [
        ("bytes=0-9", data[:10], 0, 9),
        ("bytes=990-", data[990:], 990, 999),
        ("bytes=-5", data[-5:], 995, 999),
        ("bytes=500-5000000", data[500:], 500, 999),
    ]:
        response = get(spec)
        assert response.status_code == 206, spec
        assert response.content == piece
        assert response.headers["content-range"] == f"bytes {first}-{last}/1000"
        assert response.headers["content-length"] == str(len(piece))

    unsatisfiable = get("bytes=1000-")
    assert_error(unsatisfiable, 416, "range_not_satisfiable")
    assert unsatisfiable.headers["content-range"] == "bytes */1000"
    for ignored in ("bytes=0-1,5-6", "bytes=9-2", "pages=1-2", "bytes=x-y", "bytes=" + "9" * 40 + "-"):
        response = get(ignored)
        assert response.status_code == 200 and response.content == data, ignored
    assert get("bytes=0-9", **{"If-Range": '"stale"'}).status_code == 200
    assert get("bytes=0-9", **{"If-Range": etag}).status_code == 206
    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""


def test_admin_deletes_bytes_and_row(client: Any, admin: dict[str, Any], agent: dict[str, Any], storage: Any) -> None:
    body = upload(client, agent, png()).json()
    key = body["file_uri"]

    assert_error(client.delete(f"/api/files/{key}", headers=agent["headers"]), 403, "forbidden")
    assert len(file_rows()) == 1 and storage.exists(key)

    assert client.delete(f"/api/files/{key}", headers=admin["headers"]).status_code == 204
    assert file_rows() == [] and not storage.exists(key)
    assert stored_objects(storage) == [] or all(".incoming" not in p for p in stored_objects(storage))
    assert_error(client.get(path_of(body["file_url"])), 404, "not_found")
    assert_error(client.delete(f"/api/files/{key}", headers=admin["headers"]), 404, "not_found")
    assert_error(client.delete("/api/files/..%2f..%2fetc", headers=admin["headers"]), 404, "not_found")


def test_upload_and_delete_need_a_token(client: Any) -> None:
    assert_error(client.post("/api/upload", files={"file": ("a.png", png(), "image/png")}), 401, "unauthorized")
    bad = {"Authorization": "Bearer not-a-token"}
    assert_error(
        client.post("/api/upload", headers=bad, files={"file": ("a.png", png(), "image/png")}), 401, "unauthorized"
    )
    assert_error(client.delete("/api/files/" + "0" * 32 + ".png"), 401, "unauthorized")
    assert file_rows() == []


def test_signed_url_service_for_the_integrations(client: Any, agent: dict[str, Any]) -> None:
    key = upload(client, agent, png(), private="true").json()["file_uri"]
    public_key = upload(client, agent, png()).json()
    with get_sessionmaker()() as session:
        for uri in (key, f"files://{key}", f"http://x/api/files/{key}?sig=abc"):
            assert file_service.resolve_file_uri(uri) == key
            assert client.get(path_of(file_service.create_signed_url(session, uri, "120"))).status_code == 200
        assert file_service.get_file(session, public_key["file_url"]).key == public_key["file_uri"]
        for bad_expiry in (0, -5, True, 10**9, "soon", None, 1.5):
            with pytest.raises(file_service.ValidationFailed):
                file_service.create_signed_url(session, key, bad_expiry)
        for bad_uri in (None, 42, "", "../etc/passwd", "files://nope", key.upper()):
            with pytest.raises(file_service.ValidationFailed):
                file_service.resolve_file_uri(bad_uri)
        with pytest.raises(file_service.NotFound):
            file_service.create_signed_url(session, "f" * 32 + ".pdf")


def test_a_second_user_reads_with_a_token(client: Any, agent: dict[str, Any]) -> None:
    body = upload(client, agent, png()).json()
    other = make_user("other@example.com")
    assert client.get(f"/api/files/{body['file_uri']}", headers=other["headers"]).status_code == 200
