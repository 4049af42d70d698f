"""A first deployment with wrong settings is told every problem at once, in plain words, before anything else.

The issue: with the example `.env`, `scripts/migrate.py` swallowed the settings error in its wait-for-database
loop for 61 s, then printed a 25-line traceback naming one setting per start, advising ENVIRONMENT=development
(which compose overrides); `ADMIN_PASSWORD=abc` failed after the migrations without naming the setting; and
compose restarted that forever. Each entry point runs here as its own process, as in the container.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from backend.config import EXAMPLE_SECRET_KEY, EXIT_DATABASE, EXIT_SETTINGS, Settings, SettingsError, check_settings
from tests.conftest import ROOT

UNREACHABLE = "postgresql+psycopg2://crm:secret-password@127.0.0.1:1/crm"  # nothing listens on port 1
EXAMPLE_ENV = {  # what .env.example gives, in a container that says ENVIRONMENT=production
    "ENVIRONMENT": "production",
    "SECRET_KEY": EXAMPLE_SECRET_KEY,
    "ADMIN_PASSWORD": "abc",
    "CORS_ORIGINS": "*",
    "DB_POOL_SIZE": "ten",
    "DATABASE_URL": UNREACHABLE,
}
NAMED = ("SECRET_KEY", "ADMIN_PASSWORD", "PASSWORD_MIN_LENGTH", "CORS_ORIGINS", "DB_POOL_SIZE")


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _run(args: list[str], extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # The limit only stops a hang: before the fix the settings error sat in a 60-second database wait.
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=_env(extra), capture_output=True, text=True, timeout=25
    )


def _assert_report(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_SETTINGS, output
    assert "Traceback" not in output, output
    for name in NAMED:
        assert name in result.stderr, (name, result.stderr)
    assert "secrets.token_urlsafe" in result.stderr  # how to make a SECRET_KEY
    assert "ENVIRONMENT=development" not in output  # compose sets production: no use advising it
    assert "secret-password" not in output  # a setting's secret value is never echoed


@pytest.mark.parametrize(
    "command",
    [
        [str(ROOT / "scripts" / "migrate.py"), "--wait", "60"],
        [str(ROOT / "scripts" / "worker.py"), "--wait-db", "60"],
        ["-m", "uvicorn", "backend.main:app", "--app-dir", str(ROOT), "--port", "0"],
    ],
    ids=["migrate", "worker", "app"],
)
def test_every_entry_point_reports_all_settings_problems_at_once_before_waiting(
    command: list[str], tmp_path: Path
) -> None:
    _assert_report(_run(command, EXAMPLE_ENV, tmp_path))


def test_a_database_that_does_not_answer_is_another_exit_code(tmp_path: Path) -> None:
    settings = {"ENVIRONMENT": "production", "SECRET_KEY": "s" * 40, "ADMIN_PASSWORD": "long-enough-1",
                "DATABASE_URL": UNREACHABLE}  # fmt: skip
    result = _run([str(ROOT / "scripts" / "migrate.py"), "--wait", "1"], settings, tmp_path)
    assert result.returncode == EXIT_DATABASE != EXIT_SETTINGS, result.stderr
    assert "did not answer" in result.stderr and "Traceback" not in result.stderr
    assert "secret-password" not in result.stderr and "127.0.0.1:1" in result.stderr


def test_the_container_waits_instead_of_restarting_on_a_settings_error(tmp_path: Path) -> None:
    env = _env(EXAMPLE_ENV)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "docker-entrypoint.sh")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        assert process.stdout is not None
        while "Waiting for the settings" not in output and process.poll() is None:
            output += process.stdout.readline()
        time.sleep(1)
        assert process.poll() is None, (
            f"the entrypoint exited ({process.returncode}): compose would restart it\n{output}"
        )
        assert output.count("The settings are not usable") == 1 and "SECRET_KEY" in output, output
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_check_settings_names_every_problem(monkeypatch: Any) -> None:
    from backend import config

    monkeypatch.setattr(config, "get_settings", lambda: Settings(**{k.lower(): v for k, v in EXAMPLE_ENV.items()}))
    with pytest.raises(SettingsError) as caught:
        check_settings()
    problems = caught.value.problems
    assert len(problems) == 4 and all(any(name in p for p in problems) for name in NAMED), problems
    ok = Settings(environment="development", secret_key=EXAMPLE_SECRET_KEY, admin_password="test123")
    assert ok.environment == "development"  # the development admin keeps its short example password
