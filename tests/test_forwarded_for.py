"""The container's start command trusts `X-Forwarded-For` only from FORWARDED_ALLOW_IPS, which is empty by default.

The issue: with Docker's defaults (`FORWARDED_ALLOW_IPS=*`, the port on all interfaces) anyone could rotate the
header to dodge the per-address sign-in limit, or lock out an address of their choosing with 50 failures. Here
`scripts/docker-entrypoint.sh` itself starts the server (migrations, then uvicorn), as in the container.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from backend.database import get_sessionmaker
from backend.models.user import LoginFailure
from tests.conftest import ROOT
from tests.uvicorn_process import free_port

ROTATING = ["203.0.113.1", "203.0.113.2", "198.51.100.7", "192.0.2.99"]


@contextmanager
def entrypoint(extra_env: dict[str, str]) -> Iterator[str]:
    """The entrypoint binds the port itself, so a parallel test may take the number first: then another."""
    for attempt in range(3):
        try:
            with _entrypoint(extra_env) as url:
                yield url
                return
        except _PortTaken:
            if attempt == 2:
                raise


class _PortTaken(Exception):
    pass


@contextmanager
def _entrypoint(extra_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "UVICORN_PORT": str(port), "WEB_CONCURRENCY": "1", **extra_env}
    if "FORWARDED_ALLOW_IPS" not in extra_env:
        env.pop("FORWARDED_ALLOW_IPS", None)  # the container's default: not set
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `python`, `uvicorn`
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        ["bash", "scripts/docker-entrypoint.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                output = log.read()[-4000:]
                if "address already in use" in output.lower():
                    raise _PortTaken(output)
                pytest.fail(f"the entrypoint exited with {process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the entrypoint's server did not answer within 60 s:\n{log.read()[-4000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()


def _fail_logins(url: str, email: str) -> list[str]:
    """A wrong password once per rotating address; returns the addresses the limiter recorded."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for address in ROTATING:
            response = client.post(
                "/api/auth/login",
                data={"username": email, "password": "wrong-password"},
                headers={"X-Forwarded-For": address},
            )
            assert response.status_code == 401, response.text
    with get_sessionmaker()() as session:
        return list(
            session.scalars(select(LoginFailure.ip).where(LoginFailure.email == email).order_by(LoginFailure.id))
        )


def test_by_default_a_rotating_forwarded_for_does_not_change_the_counted_address() -> None:
    with entrypoint({}) as url:
        recorded = _fail_logins(url, "victim@example.com")
    assert recorded == ["127.0.0.1"] * len(ROTATING)


def test_a_configured_proxy_address_is_believed() -> None:
    with entrypoint({"FORWARDED_ALLOW_IPS": "127.0.0.1"}) as url:
        recorded = _fail_logins(url, "behind-proxy@example.com")
    assert recorded == ROTATING
