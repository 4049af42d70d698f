"""The database goes away and comes back: 503s (never 500s) while it is gone, recovery without restart.

PostgreSQL only: the app talks to it through a TCP proxy on loopback that the test cuts and restores.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from backend import database
from backend.config import get_settings
from tests.conftest import IS_POSTGRES, assert_error, make_user

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="a database outage is simulated on PostgreSQL's TCP port")


class Proxy:
    """Forwards loopback connections to the database; `cut()` drops them all and refuses new ones."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self.listener is not None:
            # shutdown() first: a bare close() leaves a thread blocked in accept() still listening
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets.clear()


def _clear_engines() -> None:
    for cached in (database.get_engine, database.get_auth_engine, database.get_sessionmaker):
        cached.cache_clear()


@pytest.fixture
def proxied(monkeypatch: Any) -> Iterator[Proxy]:
    settings = get_settings()
    url = make_url(settings.database_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    database.get_engine().dispose()
    monkeypatch.setattr(settings, "database_url", url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    _clear_engines()
    yield proxy
    proxy.cut()
    database.get_engine().dispose()
    monkeypatch.undo()
    _clear_engines()


def test_outage_answers_503_and_recovers(app: Any, proxied: Proxy) -> None:
    user = make_user("outage@example.com")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/contacts", headers=user["headers"]).status_code == 200
        assert client.post("/api/contacts", headers=user["headers"], json={"full_name": "לפני"}).status_code == 201

        proxied.cut()
        health = client.get("/api/health")
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        assert_error(client.get("/api/contacts", headers=user["headers"]), 503, "service_unavailable")
        assert_error(
            client.post("/api/contacts", headers=user["headers"], json={"full_name": "x"}), 503, "service_unavailable"
        )

        proxied.start()
        statuses = [client.get("/api/contacts", headers=user["headers"]).status_code for _ in range(3)]
        assert statuses[-1] == 200 and statuses.count(200) >= 2, statuses
        assert client.get("/api/health").status_code == 200
        names = [r["full_name"] for r in client.get("/api/contacts", headers=user["headers"]).json()]
        assert names == ["לפני"]


def test_a_refused_connection_is_a_503(app: Any, monkeypatch: Any) -> None:
    """The server answers but will not connect us (here: no such database) — still a 503, not a 500."""
    user = make_user("refused@example.com")
    settings = get_settings()
    monkeypatch.setattr(
        settings, "database_url", make_url(settings.database_url).set(database="no_such_db").render_as_string(False)
    )
    with TestClient(app, raise_server_exceptions=False) as client:  # its lifespan opens a pool on that URL
        for path in ("/api/contacts", "/api/contacts/" + "0" * 24):
            response = client.get(path, headers=user["headers"])
            assert_error(response, 503, "service_unavailable")
            assert response.headers["retry-after"] == "5"
        health = client.get("/api/health")  # the write pool still answers; the read pool does not
        assert health.status_code == 503 and health.json()["database"] == "unavailable"


def test_a_busy_pool_answers_503_after_the_pool_timeout(app: Any, monkeypatch: Any) -> None:
    """Reads wait for a connection at most DB_POOL_TIMEOUT, then answer 503 — never an endless queue."""
    user = make_user("busy@example.com")
    settings = get_settings()
    monkeypatch.setattr(settings, "db_pool_size", 1)
    monkeypatch.setattr(settings, "db_pool_timeout", 0.5)
    with TestClient(app, raise_server_exceptions=False) as client, database.get_engine().connect() as locker:
        locker.exec_driver_sql("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE")  # held until rollback
        stuck: list[int] = []
        first = threading.Thread(
            target=lambda: stuck.append(client.get("/api/contacts", headers=user["headers"]).status_code)
        )
        first.start()
        first.join(0.3)  # it now holds the only connection, waiting on the lock
        assert_error(client.get("/api/properties", headers=user["headers"]), 503, "service_unavailable")
        locker.rollback()
        first.join(10)
        assert stuck == [200]
        assert client.get("/api/properties", headers=user["headers"]).status_code == 200
