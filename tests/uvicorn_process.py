"""The real app under uvicorn in a subprocess on a free loopback port, for tests driven from Node or a
browser. It shares the tests' database and settings (the environment tests/conftest.py set).

The socket is bound here and handed to uvicorn (`--fd`), not picked by number and bound again by the child:
with tests running in parallel (pytest-xdist), another worker could take a port between the two."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_LIMIT = 60.0  # seconds to wait for /api/health before giving up (not a speed assertion)


def free_port() -> int:
    """A port free right now (for servers that bind it themselves: a small window remains before they do)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_process(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Yields the base URL once /api/health answers; the server is always stopped afterwards."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PUBLIC_URL": base_url, **(extra_env or {})}  # absolute URLs the app builds point here
    log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (closed in the finally below)

    def tail() -> str:
        log.flush()
        log.seek(0)
        return log.read()[-6000:]

    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.main:app", "--fd", str(listener.fileno())],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=(listener.fileno(),),
    )
    listener.close()  # the server holds it now
    try:
        deadline = time.monotonic() + START_LIMIT
        while True:
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited with {process.returncode} before answering:\n{tail()}")
            try:
                with urllib.request.urlopen(f"{base_url}/api/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not answer /api/health within {START_LIMIT}s:\n{tail()}")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()
