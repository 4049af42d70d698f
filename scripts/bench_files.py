"""Files memory benchmark: a 1 GiB upload and download through a real uvicorn; the app's peak RSS growth.

    python scripts/bench_files.py [--size-mib 1024] [--backend local|s3]

Starts the app (one uvicorn worker) on a scratch SQLite database and upload directory (with `--backend s3`,
on moto's S3 server started here on loopback), with UPLOAD_MAX_BYTES set to exactly the file size. Then:

1. uploads SIZE bytes as multipart, generated on the fly (the client never holds them either);
2. downloads them back through the returned `file_url` (absolute, PUBLIC_URL) and checks the SHA-256;
3. uploads SIZE + 1 bytes: expects 413 and an empty storage root, and reports the largest partial file
   seen while it streamed (local backend: the file under UPLOAD_DIR/.incoming, polled).

For 1 and 2 it reports time, throughput and the server process's peak RSS above its idle level (VmHWM,
reset before each phase through /proc/PID/clear_refs, and a 10 ms RSS poll as a cross-check).
Target (issue 4): growth below 50 MB in each phase.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from bench import start_server  # this script's own folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent


MIB = 1024 * 1024
TARGET_MB = 50
BOUNDARY = "benchboundary7c1f"
BUCKET = "bench-files"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class MemoryWatch:
    """Peak RSS of `pid` during a phase: VmHWM after a reset, and the maximum of a 10 ms poll."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> MemoryWatch:
        self.before_kb = status_kb(self.pid, "VmRSS")
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self.polled_kb = self.before_kb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        self.started = time.perf_counter()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.01):
            self.polled_kb = max(self.polled_kb, status_kb(self.pid, "VmRSS"))

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.started
        self._stop.set()
        self._thread.join()
        self.hwm_kb = status_kb(self.pid, "VmHWM")

    def report(self, label: str, size: int) -> bool:
        growth_mb = (max(self.hwm_kb, self.polled_kb) - self.before_kb) / 1024
        ok = growth_mb < TARGET_MB
        print(
            f"{label:<9} {size / MIB:7.0f} MiB in {self.seconds:6.1f} s ({size / MIB / self.seconds:6.1f} MiB/s) | "
            f"RSS before {self.before_kb / 1024:6.1f} MB, peak {self.hwm_kb / 1024:6.1f} MB "
            f"(poll {self.polled_kb / 1024:.1f}) "
            f"| growth {growth_mb:5.1f} MB  [{'OK' if ok else 'OVER'} < {TARGET_MB} MB]"
        )
        return ok


def multipart_body(size: int, hasher: Any) -> tuple[Iterator[bytes], int]:
    """A PDF-typed file of `size` bytes inside a multipart envelope, produced 1 MiB at a time."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    block = os.urandom(MIB)

    def chunks() -> Iterator[bytes]:
        yield head
        sent = 0
        while sent < size:
            piece = block[: min(MIB, size - sent)]
            if sent == 0:
                piece = b"%PDF-1.7\n" + piece[9:]
            hasher.update(piece)
            sent += len(piece)
            yield piece
        yield tail

    return chunks(), len(head) + size + len(tail)


def upload(base: str, token: str, size: int, timeout: float = 600) -> tuple[httpx.Response | None, str, str]:
    hasher = hashlib.sha256()
    body, length = multipart_body(size, hasher)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(length),
    }
    try:
        response = httpx.post(f"{base}/api/upload", content=body, headers=headers, timeout=timeout)
    except httpx.TransportError as exc:  # the server may close the connection after refusing early
        return None, hasher.hexdigest(), type(exc).__name__
    return response, hasher.hexdigest(), ""


def largest_file(root: Path, stop: threading.Event, seen: list[int]) -> None:
    while not stop.wait(0.005):
        for path in root.rglob("*"):
            try:
                if path.is_file():
                    seen[0] = max(seen[0], path.stat().st_size)
            except FileNotFoundError:
                pass


def storage_contents(root: Path, s3: Any) -> list[str]:
    if s3 is not None:
        objects = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        return objects + [f"multipart:{u['Key']}" for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--backend", choices=["local", "s3"], default="local")
    args = parser.parse_args()
    size = args.size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="crm-bench-files-"))
    uploads, port = work / "uploads", free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
        "SECRET_KEY": "bench-files-secret-key-bench-files-secret-key",
        "ADMIN_EMAIL": "bench@example.com",
        "ADMIN_PASSWORD": "bench-password-1",
        "UPLOAD_DIR": str(uploads),
        "UPLOAD_MAX_BYTES": str(size),
        "PUBLIC_URL": base,
        "LOG_LEVEL": "WARNING",
        "STORAGE_BACKEND": args.backend,
    }
    s3, moto = None, None
    if args.backend == "s3":
        import logging

        import boto3
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        endpoint = "http://{}:{}".format(*moto.get_host_and_port())
        keys = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
        s3.create_bucket(Bucket=BUCKET)
        env |= {"S3_ENDPOINT_URL": endpoint, "S3_BUCKET": BUCKET, "S3_ACCESS_KEY_ID": "bench"}
        env |= {"S3_SECRET_ACCESS_KEY": "bench"}
    subprocess.run([sys.executable, "scripts/migrate.py"], cwd=ROOT, env=env, check=True, capture_output=True)
    app = start_server(["backend.main:app"], port, env, ready_seconds=30)
    ok = True
    try:
        login = httpx.post(
            f"{base}/api/auth/login", data={"username": env["ADMIN_EMAIL"], "password": env["ADMIN_PASSWORD"]}
        )
        token = login.json()["access_token"]
        warm, _, _ = upload(base, token, MIB)  # first-use imports and pools are not what we measure
        assert warm is not None and warm.status_code == 201, warm
        httpx.get(warm.json()["file_url"]).raise_for_status()
        httpx.delete(f"{base}/api/files/{warm.json()['file_uri']}", headers={"Authorization": f"Bearer {token}"})

        print(
            f"backend={args.backend}  file={size / MIB:.0f} MiB  UPLOAD_MAX_BYTES={size}  "
            f"one uvicorn worker (pid {app.pid})"
        )
        with MemoryWatch(app.pid) as watch:
            response, sent_sha, error = upload(base, token, size)
        assert response is not None and response.status_code == 201, (error, response and response.text)
        record = response.json()
        assert record["sha256"] == sent_sha and record["size"] == size
        ok &= watch.report("upload", size)

        hasher, received = hashlib.sha256(), 0
        with MemoryWatch(app.pid) as watch, httpx.stream("GET", record["file_url"], timeout=600) as download:
            assert download.status_code == 200, download.status_code
            for chunk in download.iter_bytes(MIB):
                hasher.update(chunk)
                received += len(chunk)
        assert received == size and hasher.hexdigest() == sent_sha, "downloaded bytes differ"
        ok &= watch.report("download", size)
        print(f"round trip: sha256 {sent_sha[:16]}... identical on both ends")

        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.delete(f"{base}/api/files/{record['file_uri']}", headers=auth).status_code == 204
        stop, seen = threading.Event(), [0]
        poller = threading.Thread(target=largest_file, args=(uploads, stop, seen), daemon=True)
        poller.start()
        response, _, error = upload(base, token, size + 1)
        stop.set()
        poller.join()
        left = storage_contents(uploads, s3)
        status = response.status_code if response is not None else f"connection closed ({error})"
        refused = (
            response is not None and response.status_code == 413 and response.json()["code"] == "payload_too_large"
        )
        print(
            f"over limit: {size + 1} bytes -> {status}; left in storage: {left or 'nothing'}; "
            f"largest partial file seen while streaming: {seen[0] if args.backend == 'local' else 'n/a (S3)'}"
            f"{' (<= limit)' if args.backend == 'local' and seen[0] <= size else ''}"
        )
        ok &= refused and not left and seen[0] <= size
    finally:
        app.terminate()
        app.wait(15)
        if moto is not None:
            moto.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("RESULT:", "all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
