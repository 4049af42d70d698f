"""The office's real frontend, built once and cached, and a static server that hands it to a browser.

The build: copy the Base44 export (the fixture stays untouched), apply scripts/connect_frontend.py (only the
changes a user applies), `npm ci` against the committed tests/frontend/package-lock.json (the export has no
lock file) and `npx vite build`. It takes a minute cold, so the result is kept under .cache/frontend/ (git-
ignored), keyed by a hash of the export, the connect script and the lock file: a warm run rebuilds nothing.

The server URL is baked into the bundle, but the test server's port is new each run. So the bundle is built
once with a placeholder URL and the static server puts the live server's origin in its place in the served
JavaScript. That keeps the frontend on an origin of its own, as in production: the SDK's cross-origin calls
(CORS preflights) and the sign-in redirect between the two origins are exercised for real, which a same-origin
reverse proxy would hide.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
# The office's frontend exactly as Base44 exported it, vendored unchanged (tests/fixtures/base44-export/).
EXPORT = Path(os.environ.get("BASE44_FRONTEND_EXPORT", ROOT / "tests" / "fixtures" / "base44-export"))
LOCK_FILE = ROOT / "tests" / "frontend" / "package-lock.json"
CONNECT = ROOT / "scripts" / "connect_frontend.py"
CACHE = ROOT / ".cache" / "frontend"
# Baked into the bundle as serverUrl; .invalid can never resolve, so a missed substitution fails loudly.
PLACEHOLDER = "http://crm-server.invalid"
RECIPE = "vite-build-1"  # bump to force a rebuild when the steps below change
SKIP_PARTS = {"node_modules", "dist", ".git"}
NPM_LIMIT = 900  # seconds for npm ci (a few hundred packages from the registry)
BUILD_LIMIT = 600


class BuildError(RuntimeError):
    pass


def _export_files() -> list[Path]:
    return sorted(
        p for p in EXPORT.rglob("*") if p.is_file() and not SKIP_PARTS.intersection(p.relative_to(EXPORT).parts)
    )


def build_key() -> str:
    digest = hashlib.sha256(RECIPE.encode())
    for path in _export_files():
        digest.update(str(path.relative_to(EXPORT)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(CONNECT.read_bytes() + b"\0" + LOCK_FILE.read_bytes())
    return digest.hexdigest()[:20]


def _run(args: list[str], cwd: Path, limit: int) -> str:
    try:
        result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{' '.join(args)} still running after {limit}s") from exc
    output = f"{result.stdout}\n{result.stderr}".strip()
    if result.returncode != 0:
        raise BuildError(f"{' '.join(args)} failed (exit {result.returncode}) in {cwd}:\n{output[-6000:]}")
    return output


def _prepare_sources(work: Path) -> None:
    """The export's files in `work`, replacing earlier ones; node_modules is kept (it depends on the lock only)."""
    for child in work.iterdir():
        if child.name != "node_modules":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for path in _export_files():
        target = work / path.relative_to(EXPORT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    shutil.copy2(LOCK_FILE, work / "package-lock.json")


def _install(work: Path, npm: str) -> None:
    stamp = work / "node_modules" / ".crm-lock-sha256"
    lock_hash = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text() == lock_hash:
        return
    # npm ci installs exactly the committed lock file (and refuses if it no longer fits package.json).
    _run([npm, "ci", "--no-audit", "--no-fund"], work, NPM_LIMIT)
    stamp.write_text(lock_hash)


def built_frontend(log: Any = print) -> Path:
    """The folder of the built app (index.html, assets/), building it first when the cache lacks it."""
    if not (EXPORT / "package.json").is_file():
        raise BuildError(f"the Base44 export is not at {EXPORT} (set BASE44_FRONTEND_EXPORT)")
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is not installed (it comes with Node 20+)")
    key = build_key()
    dist = CACHE / f"dist-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once build once
        if (dist / "index.html").is_file():
            return dist
        log(f"\nbuilding the frontend into {dist.relative_to(ROOT)} (cached for later runs)")
        work = CACHE / "app"
        work.mkdir(exist_ok=True)
        _prepare_sources(work)
        _install(work, npm)
        connect = _run([sys.executable, str(CONNECT), str(work), "--server-url", PLACEHOLDER], ROOT, 60)
        log("  " + connect.replace("\n", "\n  "))
        temp = CACHE / f"dist-{key}.tmp"
        shutil.rmtree(temp, ignore_errors=True)
        _run([npm, "exec", "--no", "--", "vite", "build", "--outDir", str(temp), "--emptyOutDir"], work, BUILD_LIMIT)
        baked = [p.name for p in (temp / "assets").glob("*.js") if PLACEHOLDER.encode() in p.read_bytes()]
        if not baked:
            raise BuildError(f"the built JavaScript does not contain {PLACEHOLDER}: the server URL cannot be swapped")
        temp.rename(dist)  # complete or absent: an interrupted build never looks cached
        for old in CACHE.glob("dist-*"):
            if old != dist:
                shutil.rmtree(old, ignore_errors=True)
        return dist


class _Handler(BaseHTTPRequestHandler):
    """Serves the built app: files as they are (JavaScript with the live server's origin swapped in), and
    index.html for every other path, since the app routes in the browser (/Contacts, /Dashboard, ...)."""

    dist: Path
    server_origin: str
    TYPES: ClassVar[dict[str, str]] = {
        ".js": "text/javascript",
        ".css": "text/css",
        ".html": "text/html",
        ".svg": "image/svg+xml",
    }

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        target = (self.dist / path.lstrip("/")).resolve()
        if not target.is_file() or self.dist.resolve() not in target.parents:
            target = self.dist / "index.html"
        body = target.read_bytes()
        if target.suffix == ".js":
            body = body.replace(PLACEHOLDER.encode(), self.server_origin.encode())
        self.send_response(200)
        self.send_header("Content-Type", self.TYPES.get(target.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_server(dist: Path) -> Iterator[ThreadingHTTPServer]:
    """Serves `dist` on a free loopback port. The API server starts after it (it must trust this origin),
    so its origin is set later: `server.RequestHandlerClass.server_origin = ...`."""
    handler = type("Handler", (_Handler,), {"dist": dist, "server_origin": PLACEHOLDER})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
