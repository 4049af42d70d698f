"""tests/sdk/node_modules — the Base44 SDKs and playwright-core the Node-driven tests use — installed from the
committed lock file when missing. Under a file lock: test processes running in parallel may all ask at once,
and two `npm ci` in one folder break each other."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / "tests" / "sdk"
PACKAGES = ("sdk01", "sdk08", "playwright-core")


def _installed() -> bool:
    return all((SDK_DIR / "node_modules" / name / "package.json").is_file() for name in PACKAGES)


def sdk_node_modules() -> Path:
    """The folder, installed first (once, whoever asks at the same time) when a package is missing."""
    if not _installed():
        lock_dir = ROOT / ".cache"
        lock_dir.mkdir(exist_ok=True)
        with open(lock_dir / "sdk-install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _installed():
                npm = shutil.which("npm")
                assert npm is not None, "npm is needed to install tests/sdk (npm ci); it comes with Node"
                result = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund"], cwd=SDK_DIR, capture_output=True, text=True, timeout=600
                )
                assert result.returncode == 0, f"npm ci in tests/sdk failed:\n{result.stdout}\n{result.stderr}"
    return SDK_DIR / "node_modules"
