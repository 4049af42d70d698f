"""scripts/admin.py: user management from the server's command line, through the users service and its rules.

The issue: no way to recover a forgotten sole-admin password, and adding a user or resetting a password
was undocumented.
"""

from __future__ import annotations

import importlib.util
import io
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from backend.config import script_command
from backend.database import get_sessionmaker
from backend.models.user import LoginFailure, User
from tests.conftest import ROOT, assert_error, make_user

_spec = importlib.util.spec_from_file_location("admin_script", ROOT / "scripts" / "admin.py")
assert _spec is not None and _spec.loader is not None
ADMIN = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ADMIN)


def run(capsys: Any, monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = ADMIN.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _user(email: str) -> User:
    with get_sessionmaker()() as session:
        user = session.scalar(select(User).where(User.email == email))
        assert user is not None
        return user


def _token(out: str) -> str:
    url = next(word for word in out.split() if word.startswith("http"))
    (values,) = parse_qs(urlsplit(url).query).values()
    return values[0]


def _login(client: Any, email: str, password: str) -> Any:
    return client.post("/api/auth/login", data={"username": email, "password": password})


def test_create_user_prints_a_link_that_sets_the_password(client: Any, capsys: Any, monkeypatch: Any) -> None:
    code, out, _ = run(capsys, monkeypatch, "create-user", "Dana@Office.co.il", "--app-role", "agent", "--name", "דנה")
    assert code == 0 and "Created dana@office.co.il (user, agent)" in out
    user = _user("dana@office.co.il")
    assert user.full_name == "דנה" and user.password_hash is None and user.role == "user"
    redeemed = client.post("/api/auth/reset-password", json={"reset_token": _token(out), "new_password": "long-pass-1"})
    assert redeemed.status_code == 204
    assert _login(client, "dana@office.co.il", "long-pass-1").status_code == 200


def test_create_user_with_a_password_from_stdin(client: Any, capsys: Any, monkeypatch: Any) -> None:
    code, out, _ = run(capsys, monkeypatch, "create-user", "boss2@example.com", "--admin", "--password-stdin",
                       stdin="strong-password\n")  # fmt: skip
    assert code == 0 and "http" not in out
    assert _user("boss2@example.com").role == "admin"
    assert _login(client, "boss2@example.com", "strong-password").status_code == 200
    code, _, err = run(capsys, monkeypatch, "create-user", "short@example.com", "--password-stdin", stdin="abc\n")
    assert code == 1 and "at least 8 characters" in err
    code, _, err = run(capsys, monkeypatch, "create-user", "boss2@example.com")
    assert code == 1 and "already exists" in err


def test_a_locked_out_sole_admin_gets_back_in(client: Any, capsys: Any, monkeypatch: Any) -> None:
    admin = make_user("only-admin@example.com", role="admin")
    for _ in range(6):
        _login(client, admin["email"], "forgotten!")
    assert_error(_login(client, admin["email"], admin["password"]), 429, "rate_limited")
    code, out, _ = run(capsys, monkeypatch, "reset-password", admin["email"], "--password-stdin",
                       stdin="brand-new-password\n")  # fmt: skip
    assert code == 0 and "can sign in now" in out
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).where(LoginFailure.email == admin["email"])) == 0
    assert _login(client, admin["email"], "brand-new-password").status_code == 200
    assert_error(client.get("/api/auth/me", headers=admin["headers"]), 401, "unauthorized")  # old sessions end


def test_a_new_password_for_a_disabled_account_does_not_promise_a_sign_in(
    client: Any, capsys: Any, monkeypatch: Any
) -> None:
    agent = make_user("away@example.com", disabled=True)
    code, out, _ = run(capsys, monkeypatch, "reset-password", agent["email"], "--password-stdin",
                       stdin="brand-new-password\n")  # fmt: skip
    assert code == 0 and "can sign in now" not in out
    assert "Enable the account" in out and "scripts/admin.py enable away@example.com" in out
    assert_error(_login(client, agent["email"], "brand-new-password"), 401, "unauthorized")


def test_reset_password_prints_a_one_time_link(client: Any, capsys: Any, monkeypatch: Any) -> None:
    agent = make_user("agent@example.com", disabled=True)
    code, out, _ = run(capsys, monkeypatch, "reset-password", agent["email"])
    assert code == 0 and "valid 24 hours" in out and "scripts/admin.py enable agent@example.com" in out
    token = _token(out)
    assert (
        client.post("/api/auth/reset-password", json={"reset_token": token, "new_password": "another-1"}).status_code
        == 204
    )
    assert (
        client.post("/api/auth/reset-password", json={"reset_token": token, "new_password": "another-2"}).status_code
        == 400
    )


def test_promote_demote_enable_disable_keep_an_admin(capsys: Any, monkeypatch: Any) -> None:
    admin = make_user("the-admin@example.com", role="admin")
    make_user("agent@example.com")
    code, _, err = run(capsys, monkeypatch, "demote", admin["email"])
    assert code == 1 and "no enabled administrator" in err and _user(admin["email"]).role == "admin"
    code, _, err = run(capsys, monkeypatch, "disable", admin["email"])
    assert code == 1 and not _user(admin["email"]).disabled
    assert run(capsys, monkeypatch, "promote", "agent@example.com")[0] == 0
    assert run(capsys, monkeypatch, "demote", admin["email"])[0] == 0
    assert _user(admin["email"]).role == "user" and _user("agent@example.com").role == "admin"
    assert run(capsys, monkeypatch, "disable", admin["email"])[0] == 0 and _user(admin["email"]).disabled
    assert run(capsys, monkeypatch, "enable", admin["email"])[0] == 0 and not _user(admin["email"]).disabled


def test_list_and_unknown_emails(capsys: Any, monkeypatch: Any) -> None:
    make_user("b@example.com", role="admin", full_name="Bea")
    make_user("a@example.com", app_role="agent", disabled=True)
    code, out, _ = run(capsys, monkeypatch, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["EMAIL", "NAME", "ROLE"]
    assert lines[1].split()[:5] == ["a@example.com", "-", "user", "agent", "disabled"]
    assert lines[2].split()[:4] == ["b@example.com", "Bea", "admin", "-"] and "2 user(s)" in out
    for command in ("reset-password", "promote", "demote", "enable", "disable"):
        code, _, err = run(capsys, monkeypatch, command, "nobody@example.com")
        assert code == 1 and "No user with email 'nobody@example.com'" in err, command
    # the hint names this interpreter (a virtual environment's, as here, or `python` in the container)
    assert f"(see: {script_command('admin.py')} list)" in err
    assert re.fullmatch(r"\S*python[0-9.]* scripts/admin\.py", script_command("admin.py"))


def test_it_runs_as_a_command(tmp_path: Any) -> None:
    """As `docker compose exec backend python scripts/admin.py ...` runs it: its own process, any folder."""
    import subprocess
    import sys

    make_user("cli@example.com", role="admin")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "admin.py"), "list"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0 and "cli@example.com" in result.stdout, result.stderr
    missing = subprocess.run([sys.executable, str(ROOT / "scripts" / "admin.py"), "promote", "x@example.com"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
