"""The sign-in page's HTML: small, accessible, works on a phone; Hebrew (right-to-left) and English."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse

from backend.config import get_settings

TEXT = {
    "he": {
        "title": "כניסה למערכת", "email": "אימייל", "password": "סיסמה", "submit": "כניסה",
        "new_password": "סיסמה חדשה", "set": "שמירת סיסמה", "set_title": "בחירת סיסמה חדשה",
        "other": "English", "other_lang": "en",
        "unauthorized": "האימייל או הסיסמה שגויים",
        "rate_limited": "יותר מדי ניסיונות כושלים. נסו שוב מאוחר יותר.",
        "forbidden": "החשבון מושבת. פנו למנהל המערכת.", "bad_redirect": "כתובת החזרה אינה מורשית.",
        "bad_request": "הקישור אינו תקף או שפג תוקפו.", "validation_error": "הסיסמה קצרה מדי.",
        "password_set": "הסיסמה נשמרה. אפשר להיכנס.", "signed_in": "נכנסת בהצלחה.",
    },
    "en": {
        "title": "Sign in", "email": "Email", "password": "Password", "submit": "Sign in",
        "new_password": "New password", "set": "Save password", "set_title": "Choose a new password",
        "other": "עברית", "other_lang": "he",
        "unauthorized": "Incorrect email or password.", "rate_limited": "Too many failed attempts. Try again later.",
        "forbidden": "This account is disabled. Ask an administrator.",
        "bad_redirect": "That return address is not allowed.",
        "bad_request": "This link is not valid or has expired.", "validation_error": "The password is too short.",
        "password_set": "Your password is saved. You can sign in now.", "signed_in": "You are signed in.",
    },
}  # fmt: skip

STYLE = """
body{margin:0;padding:0 1rem;font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif}
body{background:#f4f6f8;color:#1b1f24}
main{max-width:24rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002}
h1{font-size:1.4rem;margin:0 0 1.2rem}label{display:block;margin:.9rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.7rem;font-size:1rem;border:1px solid #8a939c;border-radius:8px}
input:focus{outline:3px solid #2b6cb0;outline-offset:1px}
button{margin-top:1.4rem;width:100%;padding:.8rem;font-size:1rem;border:0;border-radius:8px;background:#2b6cb0;color:#fff}
.msg{padding:.7rem;border-radius:8px;margin-bottom:1rem}.err{background:#fde8e8;color:#8a1c1c}.ok{background:#e6f4ea;color:#1e5631}
nav{margin-top:1rem;font-size:.9rem}a{color:#2b6cb0}
"""


def _hidden(name: str, value: str | None) -> str:
    return f'<input type="hidden" name="{name}" value="{escape(value)}">' if value else ""


def render_page(
    lang: str,
    *,
    from_url: str | None = None,
    app_id: str | None = None,
    reset_token: str | None = None,
    error: str | None = None,
    message: str | None = None,
    notice: str | None = None,
    email: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = lang if lang in TEXT else "he"
    t = TEXT[lang]
    direction = "rtl" if lang == "he" else "ltr"
    banner = ""
    if error:
        banner = f'<div class="msg err" role="alert">{escape(t.get(error, message or t["unauthorized"]))}</div>'
    elif notice:
        banner = f'<div class="msg ok" role="status">{escape(t[notice])}</div>'
    hidden = _hidden("from_url", from_url) + _hidden("app_id", app_id) + _hidden("lang", lang)
    if reset_token:
        heading = t["set_title"]
        fields = (
            _hidden("reset_token", reset_token)
            + f'<label for="new_password">{t["new_password"]}</label>'
            + '<input id="new_password" name="new_password" type="password" autocomplete="new-password" '
            f'required autofocus minlength="{get_settings().password_min_length}" maxlength="1024">'
            + f'<button type="submit">{t["set"]}</button>'
        )
    else:
        heading = t["title"]
        fields = (
            f'<label for="email">{t["email"]}</label>'
            f'<input id="email" name="email" type="email" autocomplete="username" required maxlength="320" '
            f'value="{escape(email)}"{"" if error else " autofocus"}>'
            f'<label for="password">{t["password"]}</label>'
            '<input id="password" name="password" type="password" autocomplete="current-password" required '
            f'maxlength="1024"{" autofocus" if error else ""}>'
            f'<button type="submit">{t["submit"]}</button>'
        )
    keep = {"from_url": from_url, "app_id": app_id, "reset_token": reset_token}
    query = "?" + escape(urlencode({"lang": t["other_lang"], **{k: v for k, v in keep.items() if v}}))
    page = (
        f'<!doctype html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(heading)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>{escape(heading)}</h1>{banner}"
        f'<form method="post" action="/login">{hidden}{fields}</form>'
        f'<nav><a href="/login{query}" lang="{t["other_lang"]}">{t["other"]}</a></nav>'
        "</main></body></html>"
    )
    security = {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'",
    }
    return HTMLResponse(page, status_code=status, headers={**(headers or {}), **security})
