"""The exported Base44 frontend's calls, made by the real npm `@base44/sdk` (0.1.x and 0.8.x) from Node
against a real uvicorn serving this app (DESIGN.md: Tests). The scenario is tests/sdk/run.mjs; the HTTP
each SDK sends is written down in tests/sdk/SDK_HTTP.md.

The server subprocess uses the same database as the test process (the environment tests/conftest.py set
up), so the admin created here is the one the driver signs in as; conftest empties the tables after
each test as usual.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.config import get_settings
from tests.conftest import make_user
from tests.node_support import sdk_node_modules
from tests.uvicorn_process import uvicorn_process

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / "tests" / "sdk"
NODE = shutil.which("node")
# Any id works when BASE44_APP_ID is unset (API.md §7); a Base44-looking one keeps the test honest.
DEFAULT_APP_ID = "6801309791850cc36c8c709c"
ADMIN_PASSWORD = "sdk-admin-password-1"
DRIVER_LIMIT = 600  # seconds; the driver makes a few hundred requests

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: the Base44 SDK tests need Node 20+")


@pytest.fixture(scope="module")
def sdk_modules() -> Path:
    """tests/sdk/node_modules, installed from the committed lock file when missing."""
    return sdk_node_modules()


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, sharing the tests' database and settings."""
    with uvicorn_process() as base_url:
        yield base_url


@pytest.mark.parametrize("sdk_version", ["01", "08"])
def test_exported_app_scenario_through_real_sdk(sdk_version: str, sdk_modules: Path, live_server: str) -> None:
    """Every call the exported CRM makes, through @base44/sdk 0.1.x and 0.8.x, must succeed as Base44's would."""
    assert NODE is not None
    admin: dict[str, Any] = make_user(f"sdk{sdk_version}-admin@example.com", role="admin", password=ADMIN_PASSWORD)
    env = {
        **os.environ,
        "SERVER_URL": live_server,
        "APP_ID": get_settings().base44_app_id or DEFAULT_APP_ID,
        "ADMIN_EMAIL": admin["email"],
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SDK_VERSION": sdk_version,
    }
    env.pop("TOKEN", None)  # the driver must sign in itself
    try:
        result = subprocess.run(
            [NODE, str(SDK_DIR / "run.mjs")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=DRIVER_LIMIT
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"SDK {sdk_version} driver still running after {DRIVER_LIMIT}s:\n{exc.stdout!r}\n{exc.stderr!r}")
    output = f"{result.stdout}\n{result.stderr}".strip()
    assert result.returncode == 0, f"SDK {sdk_version} scenario failed (exit {result.returncode}):\n{output}"
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines and lines[-1].endswith(" passed, 0 failed"), f"no closing line from the driver:\n{output}"
    assert not any(line.startswith("FAIL ") for line in lines), output
