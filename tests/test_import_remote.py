"""`--from-api` against a real server (this app under uvicorn, serving Base44's entities API from another database),
and `--rehost-files` against a file server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.base44_data import ALL, APP_ID
from tests.import_support import FIXTURES, ROOT, differences, run_script, stored
from tests.uvicorn_process import uvicorn_process

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(300)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SOURCE_PASSWORD = "source-admin-password-1"
FRONTEND = ROOT / "tests" / "fixtures" / "base44-export"


@pytest.fixture(scope="module")
def source_server(tmp_path_factory: Any) -> Iterator[tuple[str, str]]:
    """The fixtures imported into a database of their own, served by uvicorn with 2-row pages (paging is exercised)."""
    folder = tmp_path_factory.mktemp("source")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'source.db'}",
        "UPLOAD_DIR": str(folder / "uploads"),
        "ADMIN_EMAIL": "source-admin@example.com",
        "ADMIN_PASSWORD": SOURCE_PASSWORD,
        "MAX_PAGE_SIZE": "2",
    }
    for args in (["scripts/migrate.py"], ["scripts/import_base44.py", str(FIXTURES)]):
        done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    with uvicorn_process(env) as base:
        answer = httpx.post(
            f"{base}/api/auth/login", data={"username": "source-admin@example.com", "password": SOURCE_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        yield base, str(answer.json()["access_token"])


def test_from_api_imports_everything_through_paging(
    source_server: tuple[str, str], capsys: Any, tmp_path: Path
) -> None:
    """Which entities: the 24 the frontend's entities.js names, and the one the export's schema file describes."""
    base, token = source_server
    asked = ("--frontend", str(FRONTEND), "--schemas", str(FIXTURES / "entities"))
    code, out = run_script("--from-api", base, "--app-id", APP_ID, "--api-key", token, *asked, capsys=capsys)
    assert code == 0, out
    assert out.rstrip().endswith("25 entities imported, 0 not found.")
    assert "Schema files stored: Commission (Commission.json)" in out
    problems = [p for entity in ALL for p in differences(entity, stored(entity))]
    assert problems == []  # the schema-typed Commission included: 3, not "3"
    assert "6801309791850cc36c8cdead" in out  # dangling references are found in API imports too
    report = tmp_path / "r.json"
    code, out = run_script("--from-api", base, "--app-id", APP_ID, "--api-key", token, *asked, "--report", str(report))
    entities = json.loads(report.read_text(encoding="utf-8"))["entities"]
    assert code == 0 and sorted(e["entity"] for e in entities) == sorted(ALL)
    assert all(e["unchanged"] == e["read"] == len(ALL[e["entity"]].records) for e in entities)


def test_from_api_with_a_wrong_key_says_so(source_server: tuple[str, str], capsys: Any) -> None:
    base, _ = source_server
    code, out = run_script("--from-api", base, "--app-id", APP_ID, "--api-key", "nope", "--entities", "Contact",
                           capsys=capsys)  # fmt: skip
    assert code == 1
    assert "refused the API key (HTTP 401)" in out
    assert stored("Contact") == {}


class FileServer:
    """Serves a dict of path → bytes on loopback; counts the requests per path."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.hits = files, dict.fromkeys(files, 0)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                body = outer.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server = FileServer({"/img/a.jpg": JPEG, "/docs/contract.pdf": PDF, "/avatar.png": PNG})
    yield server
    server.close()


def _source(tmp_path: Path, base: str) -> Path:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    properties = [{"id": "p1", "image_urls": [f"{base}/img/a.jpg", f"{base}/img/missing.jpg"], "price": 1,
                   "updated_date": "2025-12-01T00:00:00.000000"}]  # fmt: skip
    contacts = [
        {"id": "c1", "full_name": "דנה", "avatar": f"{base}/avatar.png", "site": "https://example.com/page"},
        {"id": "c2", "full_name": "שרה", "docs": [{"url": f"{base}/docs/contract.pdf", "kind": "חוזה"}]},
    ]
    (folder / "Property.json").write_text(json.dumps(properties), encoding="utf-8")
    (folder / "Contact.json").write_text(json.dumps(contacts), encoding="utf-8")
    (folder / "Document.json").write_text(json.dumps([{"id": "d1", "file_url": f"{base}/docs/contract.pdf"}]))
    return folder


def test_rehosting_moves_files_reports_failures_and_skips_what_is_done(
    tmp_path: Path, file_server: FileServer, client: Any, capsys: Any
) -> None:
    base = file_server.base
    folder = _source(tmp_path, base)
    assert run_script(str(folder), capsys=capsys)[0] == 0
    code, out = run_script("--rehost-files", "--dry-run", capsys=capsys)
    assert "4 link(s) would be re-hosted" in out and sum(file_server.hits.values()) == 0
    assert stored("Property")["p1"]["version"] == 1
    code, out = run_script(str(folder), "--rehost-files", capsys=capsys)
    assert code == 1, out  # one link is dead
    assert f"FAILED {base}/img/missing.jpg: HTTP 404" in out
    prop = stored("Property")["p1"]
    ours, dead = prop["record"]["image_urls"]
    assert "/api/files/" in ours and dead == f"{base}/img/missing.jpg"
    assert prop["version"] == 2 and prop["record"]["updated_date"].isoformat() == "2025-12-01T00:00:00"
    assert client.get(ours.split("localhost:8000")[1]).content == JPEG  # the signed link serves the same bytes
    contacts = {i: r["record"] for i, r in stored("Contact").items()}
    assert client.get(contacts["c1"]["avatar"].split("localhost:8000")[1]).content == PNG
    assert contacts["c1"]["site"] == "https://example.com/page"  # not a file: left alone
    contract = contacts["c2"]["docs"][0]["url"]
    assert stored("Document")["d1"]["record"]["file_url"] == contract  # one download serves both records
    assert file_server.hits["/docs/contract.pdf"] == 1
    # again: nothing downloaded twice, the dead link tried and reported again
    code, out = run_script("--rehost-files", capsys=capsys)
    assert code == 1 and file_server.hits["/img/a.jpg"] == 1 and file_server.hits["/img/missing.jpg"] == 2
    assert stored("Property")["p1"]["version"] == 2
    # the link comes back to life: the next run finishes the job
    file_server.files["/img/missing.jpg"] = JPEG
    code, out = run_script("--rehost-files", capsys=capsys)
    assert code == 0, out
    assert all("/api/files/" in url for url in stored("Property")["p1"]["record"]["image_urls"])
    # importing the original export again changes nothing: its Base44 links map to the re-hosted files
    code, out = run_script(str(folder), "--report", str(tmp_path / "r.json"), capsys=capsys)
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert code == 0 and {e["entity"]: e["unchanged"] for e in report["entities"]} == {
        "Contact": 2, "Property": 1, "Document": 1
    }  # fmt: skip
