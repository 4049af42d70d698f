"""The sign-in page (API.md §7.4) in a real browser: Debian's headless Chromium, driven by
tests/sdk/login_page.mjs through playwright-core, against the real app under uvicorn.

The page signs in and lands on `from_url`, so `from_url` must be a trusted origin that serves a page: a
tiny static HTTP server on a loopback port plays the CRM frontend, and the uvicorn subprocess gets that
origin added to CORS_ORIGINS. Screenshots (phone-sized) go to test-artifacts/login/ for a person to look
at; their paths are printed in the test run's output.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_user
from tests.node_support import sdk_node_modules
from tests.uvicorn_process import uvicorn_process

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / "tests" / "sdk"
SCREENSHOT_DIR = ROOT / "test-artifacts" / "login"
NODE = shutil.which("node")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
PASSWORD = "browser-pass-word-1"
DRIVER_LIMIT = 300  # seconds; a dozen page loads
LANDING_PAGE = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CRM app (test page)</title>
</head><body><h1>CRM app</h1><p>The sign-in page sent the browser here.</p></body></html>"""

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed: the browser test drives Chromium from Node 20+"),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"),
]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def frontend() -> Iterator[str]:
    """A static page on a loopback port: the trusted `from_url` the sign-in lands on."""
    with tempfile.TemporaryDirectory(prefix="crm-login-frontend-") as folder:
        (Path(folder) / "app.html").write_bytes(LANDING_PAGE)
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=folder))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def playwright_core() -> Path:
    """tests/sdk/node_modules/playwright-core, installed from the committed lock file when missing."""
    return sdk_node_modules() / "playwright-core"


@pytest.fixture(scope="module")
def live_server(frontend: str) -> Iterator[str]:
    """The real app under uvicorn on a free port, sharing the tests' database, trusting `frontend`."""
    with uvicorn_process({"CORS_ORIGINS": f"{os.environ['CORS_ORIGINS']},{frontend}"}) as base_url:
        yield base_url


def test_login_page_in_headless_chromium(
    playwright_core: Path, live_server: str, frontend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sign in lands on from_url with a working token; wrong password and foreign from_url are refused."""
    assert NODE is not None and CHROMIUM is not None
    user = make_user("Browser.User@example.com", password=PASSWORD)
    for old in SCREENSHOT_DIR.glob("*.png"):
        old.unlink()  # a stale FAILED-*.png from an earlier run would mislead whoever looks
    env = {
        **os.environ,
        "BASE_URL": live_server,
        "FROM_URL": f"{frontend}/app.html?view=board",
        "EMAIL": user["email"],
        "PASSWORD": PASSWORD,
        "SCREENSHOT_DIR": str(SCREENSHOT_DIR),
        "CHROMIUM": CHROMIUM,
    }
    try:
        result = subprocess.run(
            [NODE, str(SDK_DIR / "login_page.mjs")],
            cwd=SDK_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=DRIVER_LIMIT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"browser driver still running after {DRIVER_LIMIT}s:\n{exc.stdout!r}\n{exc.stderr!r}")
    output = f"{result.stdout}\n{result.stderr}".strip()
    shots = sorted(SCREENSHOT_DIR.glob("*.png"))
    with capsys.disabled():  # shown even when pytest captures output, so CI's log names the files
        print("\nlogin page screenshots:\n" + "\n".join(f"  {p.relative_to(ROOT)}" for p in shots))
    assert result.returncode == 0, f"browser driver failed (exit {result.returncode}):\n{output}"
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines and lines[-1].endswith(" passed, 0 failed"), f"no closing line from the driver:\n{output}"
    assert int(lines[-1].split()[0]) >= 9, output
    expected = {"login-form-he-phone.png", "login-error-he-phone.png", "login-form-en-phone.png"}
    assert expected <= {p.name for p in shots}, output
    assert all(p.stat().st_size > 5000 for p in shots), "a screenshot is suspiciously small (blank page?)"
