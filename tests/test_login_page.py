"""API.md §7.4 over plain HTTP: the sign-in page, its redirect back with `access_token`, the logout
redirect, the reset-password form, and the refusals (open redirects, wrong passwords, throttling).

The trusted origins come from tests/conftest.py: CORS_ORIGINS = http://localhost:5173,
https://crm.example.com and FRONTEND_URL = http://localhost:5173. The real-browser run of the same page
is tests/test_login_page_browser.py.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import func, select

from backend.database import get_sessionmaker
from backend.models.user import LoginFailure, PasswordReset, RevokedToken
from tests.conftest import make_user

APP_URL = "https://crm.example.com/dashboard"
PASSWORD = "correct-horse-1"
HOSTILE_TARGETS = [
    "//evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "http://localhost:5173@evil.example",
    "/\\evil.example",
    "https://crm.example.com.evil.example",
]
SCRIPT = '"><script>alert(1)</script>'


def page_post(client: Any, **fields: str) -> Any:
    return client.post("/login", data=fields, follow_redirects=False)


def sign_in(client: Any, email: str, password: str, from_url: str = APP_URL, **extra: str) -> Any:
    return page_post(client, email=email, password=password, from_url=from_url, app_id="x", **extra)


def token_from(location: str) -> str:
    tokens = [v for k, v in parse_qsl(urlsplit(location).query) if k == "access_token"]
    assert len(tokens) == 1, location
    return tokens[0]


def failures(email: str) -> int:
    with get_sessionmaker()() as session:
        return int(session.scalar(select(func.count()).where(LoginFailure.email == email)) or 0)


def assert_page(response: Any, status: int) -> str:
    """The answer is the HTML page (not JSON), never cached, never framed, and never a redirect."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    return str(response.text)


def alert_text(html: str) -> str:
    match = re.search(r'<div class="msg err" role="alert">([^<]*)</div>', html)
    assert match, html
    return match.group(1)


def test_get_renders_hebrew_rtl_by_default(client: Any) -> None:
    html = assert_page(client.get("/login", params={"from_url": APP_URL, "app_id": "x"}), 200)
    assert '<html lang="he" dir="rtl">' in html
    assert "<title>כניסה למערכת</title>" in html
    assert '<label for="email">אימייל</label>' in html and '<label for="password">סיסמה</label>' in html
    assert f'<input type="hidden" name="from_url" value="{APP_URL}">' in html
    assert '<input type="hidden" name="app_id" value="x">' in html
    assert 'role="alert"' not in html
    # The language switch keeps the return address and the app id.
    assert 'href="/login?lang=en&amp;from_url=https%3A%2F%2Fcrm.example.com%2Fdashboard&amp;app_id=x"' in html


def test_get_renders_english_ltr(client: Any) -> None:
    html = assert_page(client.get("/login", params={"from_url": APP_URL, "lang": "en"}), 200)
    assert '<html lang="en" dir="ltr">' in html
    assert "<title>Sign in</title>" in html and '<label for="email">Email</label>' in html
    assert '<input type="hidden" name="lang" value="en">' in html


@pytest.mark.parametrize("lang", ["fr", "", 'he"><script>', "x" * 500])
def test_unknown_language_falls_back_to_hebrew(client: Any, lang: str) -> None:
    html = assert_page(client.get("/login", params={"lang": lang}), 200)
    assert '<html lang="he" dir="rtl">' in html and "<script>" not in html


def test_post_success_redirects_303_with_a_working_token(client: Any) -> None:
    user = make_user("dana@example.com", password=PASSWORD)
    make_user("other@example.com", password="other-password-1")
    assert page_post(client, email="dana@example.com", password="wrong-password-1").status_code == 401
    assert failures("dana@example.com") == 1

    response = sign_in(client, "Dana@Example.com", PASSWORD)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(APP_URL + "?access_token=")
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token_from(location)}"})
    assert me.status_code == 200 and me.json()["id"] == user["id"] and me.json()["email"] == "dana@example.com"
    assert failures("dana@example.com") == 0  # a success clears the email's failure count


def test_post_keeps_existing_query_and_fragment_and_replaces_a_planted_token(client: Any) -> None:
    make_user("dana@example.com", password=PASSWORD)
    from_url = "http://localhost:5173/properties?view=grid&city=%D7%AA%D7%9C&access_token=planted#top"
    response = sign_in(client, "dana@example.com", PASSWORD, from_url=from_url)
    assert response.status_code == 303, response.text
    parts = urlsplit(response.headers["location"])
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("http", "localhost:5173", "/properties", "top")
    query = parse_qsl(parts.query)
    assert query[:2] == [("view", "grid"), ("city", "תל")]
    assert [k for k, _ in query].count("access_token") == 1
    token = token_from(response.headers["location"])
    assert token != "planted"
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_post_without_from_url_goes_to_the_frontend(client: Any) -> None:
    make_user("dana@example.com", password=PASSWORD)
    response = page_post(client, email="dana@example.com", password=PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"].startswith("http://localhost:5173?access_token=")


@pytest.mark.parametrize("lang", ["he", "en"])
def test_wrong_password_shows_the_error_without_redirect(client: Any, lang: str) -> None:
    make_user("dana@example.com", password=PASSWORD)
    html = assert_page(sign_in(client, "dana@example.com", "wrong-password-1", lang=lang), 401)
    assert alert_text(html) == {"he": "האימייל או הסיסמה שגויים", "en": "Incorrect email or password."}[lang]
    assert 'value="dana@example.com"' in html  # the email is kept, the password is not
    assert "wrong-password-1" not in html
    assert "access_token" not in html
    assert f'<input type="hidden" name="from_url" value="{APP_URL}">' in html
    assert failures("dana@example.com") == 1


def test_unknown_email_and_empty_fields_show_the_same_error(client: Any) -> None:
    unknown = assert_page(sign_in(client, "nobody@example.com", "whatever-123"), 401)
    empty = assert_page(page_post(client, from_url=APP_URL), 401)
    assert alert_text(unknown) == alert_text(empty) == "האימייל או הסיסמה שגויים"


def test_sixth_failure_is_429_even_with_the_right_password(client: Any) -> None:
    make_user("dana@example.com", password=PASSWORD)
    for _ in range(5):
        assert sign_in(client, "dana@example.com", "wrong-password-1").status_code == 401
    limited = sign_in(client, "dana@example.com", "wrong-password-1")
    html = assert_page(limited, 429)
    assert int(limited.headers["retry-after"]) > 0
    assert alert_text(html) == "יותר מדי ניסיונות כושלים. נסו שוב מאוחר יותר."
    right = assert_page(sign_in(client, "dana@example.com", PASSWORD), 429)
    assert "access_token" not in right
    assert failures("dana@example.com") == 5  # refused attempts are not counted again


def test_disabled_user_gets_the_answer_of_a_wrong_password(client: Any) -> None:
    # "disabled" only for the right password would tell whoever tries passwords that they found it
    make_user("gone@example.com", password=PASSWORD, disabled=True)
    html = assert_page(sign_in(client, "gone@example.com", PASSWORD, lang="en"), 401)
    assert alert_text(html) == "Incorrect email or password."


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_get_login_refuses_open_redirects(client: Any, target: str) -> None:
    html = assert_page(client.get("/login", params={"from_url": target}), 400)
    assert alert_text(html) == "כתובת החזרה אינה מורשית."
    assert "evil.example" not in html and "javascript:" not in html
    assert "<form" in html and 'name="from_url"' not in html


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_post_login_refuses_open_redirects_even_with_the_right_password(client: Any, target: str) -> None:
    make_user("dana@example.com", password=PASSWORD)
    html = assert_page(sign_in(client, "dana@example.com", PASSWORD, from_url=target), 400)
    assert "access_token" not in html and "evil.example" not in html
    assert failures("dana@example.com") == 0  # refused before any sign-in attempt


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_logout_refuses_open_redirects(client: Any, target: str) -> None:
    response = client.get("/api/apps/auth/logout", params={"from_url": target}, follow_redirects=False)
    assert_page(response, 400)


@pytest.mark.parametrize("target", ["https://crm.example.com/after?x=1", "http://localhost:5173"])
def test_logout_to_a_trusted_origin_is_302_and_revokes_the_token(client: Any, target: str) -> None:
    user = make_user("dana@example.com", password=PASSWORD)
    response = client.get(
        "/api/apps/auth/logout", params={"from_url": target}, headers=user["headers"], follow_redirects=False
    )
    assert response.status_code == 302
    assert response.headers["location"] == target
    assert client.get("/api/auth/me", headers=user["headers"]).status_code == 401
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(RevokedToken)) == 1


def test_logout_with_a_bad_token_still_redirects(client: Any) -> None:
    response = client.get(
        "/api/apps/auth/logout",
        params={"from_url": APP_URL},
        headers={"Authorization": "Bearer not-a-jwt"},
        follow_redirects=False,
    )
    assert response.status_code == 302 and response.headers["location"] == APP_URL


def test_reset_password_through_the_page(client: Any, admin: dict[str, Any]) -> None:
    user = make_user("dana@example.com", password=PASSWORD)
    link = client.post(f"/api/users/{user['id']}/reset-password", headers=admin["headers"])
    assert link.status_code == 200, link.text
    token = link.json()["reset_token"]
    reset_path = urlsplit(link.json()["reset_url"])
    assert reset_path.path == "/login"

    form = assert_page(client.get(f"/login?{reset_path.query}"), 200)
    assert "<h1>בחירת סיסמה חדשה</h1>" in form
    assert f'<input type="hidden" name="reset_token" value="{token}">' in form
    assert 'name="new_password"' in form and 'name="password"' not in form

    short = assert_page(page_post(client, reset_token=token, new_password="short"), 422)
    assert alert_text(short) == "הסיסמה קצרה מדי."
    done = assert_page(page_post(client, reset_token=token, new_password="brand-new-pass-2"), 200)
    assert 'role="status">הסיסמה נשמרה. אפשר להיכנס.</div>' in done
    assert 'name="password"' in done  # back to the sign-in form

    assert sign_in(client, "dana@example.com", PASSWORD).status_code == 401
    assert client.get("/api/auth/me", headers=user["headers"]).status_code == 401  # old tokens are gone
    assert sign_in(client, "dana@example.com", "brand-new-pass-2").status_code == 303
    with get_sessionmaker()() as session:
        row = session.scalars(select(PasswordReset)).one()
        assert row.user_id == user["id"] and row.used_at is not None

    again = assert_page(page_post(client, reset_token=token, new_password="third-pass-333"), 400)
    assert alert_text(again) == "הקישור אינו תקף או שפג תוקפו."


@pytest.mark.parametrize("token", ["forged-token-123", "x", "y" * 200, SCRIPT])
def test_forged_reset_tokens_are_refused(client: Any, token: str) -> None:
    html = assert_page(page_post(client, reset_token=token, new_password="brand-new-pass-2", lang="en"), 400)
    assert alert_text(html) == "This link is not valid or has expired."
    assert "<script>" not in html


def test_hostile_input_is_escaped(client: Any) -> None:
    from_url = f"https://crm.example.com/x?q={SCRIPT}"
    html = assert_page(client.get("/login", params={"from_url": from_url, "app_id": SCRIPT}), 200)
    assert "<script>" not in html
    assert 'value="https://crm.example.com/x?q=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'name="app_id" value="&quot;&gt;&lt;script&gt;' in html

    posted = assert_page(sign_in(client, f"a{SCRIPT}@example.com", "whatever-123", from_url=from_url), 401)
    assert "<script>" not in posted
    assert 'value="a&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;@example.com"' in posted

    reset = assert_page(client.get("/login", params={"reset_token": SCRIPT}), 200)
    assert "<script>" not in reset


def test_oversized_fields_are_4xx_not_500(client: Any) -> None:
    too_long = page_post(client, email="a" * 400 + "@example.com", password="x", from_url=APP_URL)
    assert 400 <= too_long.status_code < 500
    huge_from = client.get("/login", params={"from_url": "https://crm.example.com/" + "a" * 3000})
    assert_page(huge_from, 400)


def test_language_link_keeps_the_reset_token_and_app_id(client: Any) -> None:
    html = assert_page(client.get("/login", params={"reset_token": "tok-12345678", "app_id": "x", "lang": "en"}), 200)
    link = re.search(r'<nav><a href="([^"]*)"', html)
    assert link
    query = dict(parse_qsl(urlsplit(link.group(1).replace("&amp;", "&")).query))
    assert query.get("reset_token") == "tok-12345678" and query.get("app_id") == "x"
