"""`make run` listens on this computer only unless told otherwise (it serves the development admin).

The issue: it listened on 0.0.0.0 with admin@test.com / test123 while the README said localhost.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _uvicorn_line(*args: str) -> str:
    plan = subprocess.run(["make", "-n", "-C", str(ROOT), "run", *args], capture_output=True, text=True, check=True)
    (line,) = [cmd for cmd in plan.stdout.splitlines() if "uvicorn backend.main:app" in cmd]
    return line


def test_make_run_binds_loopback_by_default() -> None:
    assert "--host 127.0.0.1 " in _uvicorn_line()


def test_host_can_be_overridden() -> None:
    assert "--host 0.0.0.0 --port 8080" in _uvicorn_line("HOST=0.0.0.0", "PORT=8080")
