"""All configuration, read once from the environment (and `.env`). Every field is in `.env.example`."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent

# The values shipped in .env.example. Outside development the app refuses to start with them.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string"
EXAMPLE_ADMIN_PASSWORD = "test123"


# Exit codes of the app, scripts/migrate.py, scripts/worker.py and scripts/admin.py (sysexits.h): a settings
# error is not fixed by starting again; a database that did not answer may be, later.
EXIT_SETTINGS = 78  # EX_CONFIG
EXIT_DATABASE = 69  # EX_UNAVAILABLE
MAKE_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
SECRET_SETTINGS = {"SECRET_KEY", "ADMIN_PASSWORD", "S3_SECRET_ACCESS_KEY", "WHATSAPP_ACCESS_TOKEN",
                   "WHATSAPP_APP_SECRET", "SMTP_PASSWORD", "DATABASE_URL"}  # fmt: skip


def _strict(info: ValidationInfo) -> bool:
    """Outside development (an ENVIRONMENT that is itself wrong counts as production)."""
    return info.data.get("environment") != "development"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = ""
    secret_key: str = EXAMPLE_SECRET_KEY
    admin_email: str = "admin@test.com"
    password_min_length: int = Field(8, ge=1, le=1024)  # before admin_password, whose check reads it
    admin_password: str = EXAMPLE_ADMIN_PASSWORD
    access_token_expire_minutes: int = Field(720, ge=1)
    cors_origins: str = "http://localhost:5173,http://localhost:3000"
    frontend_url: str = "http://localhost:5173"
    public_url: str = "http://localhost:8000"
    base44_app_id: str = ""
    docs_enabled: bool = True

    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    max_page_size: int = Field(5000, ge=1)
    login_max_failures: int = Field(5, ge=1)
    login_window_seconds: int = Field(900, ge=1)

    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(20, ge=0)
    db_pool_timeout: float = Field(10.0, gt=0)
    # PostgreSQL stops any statement running longer than this (0 = never). Bulk work (imports, exports)
    # gets DB_BULK_STATEMENT_TIMEOUT_MS instead; migrations run without a limit.
    db_statement_timeout_ms: int = Field(15_000, ge=0)
    db_bulk_statement_timeout_ms: int = Field(600_000, ge=0)

    upload_max_bytes: int = Field(25 * 1024 * 1024, ge=1)
    upload_allowed_types: str = (
        "image/jpeg,image/png,image/gif,image/webp,application/pdf,text/plain,text/csv,"
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
        "application/msword,application/vnd.ms-excel"
    )
    storage_backend: Literal["local", "s3"] = "local"
    upload_dir: str = str(ROOT / "data" / "uploads")
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_region: str = "us-east-1"

    auto_match: bool = True
    realtime_recheck_seconds: float = Field(60.0, gt=0, le=3600)  # a socket's token is checked again this often
    # how long a process may reuse a checked session (PostgreSQL; any change to it is forgotten at commit)
    session_cache_seconds: float = Field(10.0, ge=0, le=300)
    realtime_queue_limit: int = Field(256, ge=8, le=100_000)  # messages waiting for one socket; past it, dropped
    realtime_max_rooms: int = Field(100, ge=1, le=10_000)  # rooms one socket may join
    jobs_inapp: bool = True  # drain the outbox (re-matching, alerts) in the app; false when scripts/worker.py does
    match_pairings: str = ""  # a JSON file of pairings replacing backend/services/matching/pairings.json
    match_max_new_per_seeker: int = Field(20, ge=1, le=10_000)
    match_alerts: str = "email"  # email, whatsapp, "email,whatsapp" or off
    match_alert_delay_seconds: float = Field(30.0, ge=0, le=86_400)
    match_alert_whatsapp_template: str = ""
    match_alert_whatsapp_language: str = "he"
    meeting_reminders: bool = True
    meeting_reminder_hours: float = Field(24.0, ge=0, le=24 * 30)
    meeting_reminder_template: str = ""
    meeting_reminder_language: str = "he"
    office_timezone: str = "Asia/Jerusalem"

    whatsapp_provider: Literal["console", "meta"] = "console"
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_phone_number_id: str = ""
    whatsapp_access_token: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_send_rate: float = Field(20.0, gt=0)
    whatsapp_connect_timeout: float = Field(5.0, gt=0)
    whatsapp_read_timeout: float = Field(20.0, gt=0)
    whatsapp_inapp_sender: bool = True
    phone_default_region: str = "IL"

    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = True

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("log_level")
    @classmethod
    def _a_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _default_sqlite(cls, value: str) -> str:
        return value or f"sqlite:///{ROOT / 'data' / 'app.db'}"

    @field_validator("match_alerts")
    @classmethod
    def _alert_channels(cls, value: str) -> str:
        channels = [c.strip().lower() for c in value.split(",") if c.strip()]
        if channels == ["off"] or not channels:
            return "off"
        unknown = sorted(set(channels) - {"email", "whatsapp"})
        if unknown:
            raise ValueError(
                f"MATCH_ALERTS: unknown channel {unknown[0]!r}; use email, whatsapp, email,whatsapp or off"
            )
        return ",".join(c for c in ("email", "whatsapp") if c in channels)

    @field_validator("office_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"OFFICE_TIMEZONE: unknown time zone {value!r} (e.g. Asia/Jerusalem)") from None
        return value

    @model_validator(mode="after")
    def _whatsapp_alerts_need_a_template(self) -> Settings:
        # Meta delivers free text only within 24 h of the recipient's last message: an alert must be a template.
        if "whatsapp" in self.alert_channels and not self.match_alert_whatsapp_template.strip():
            raise ValueError(
                "MATCH_ALERTS includes whatsapp but MATCH_ALERT_WHATSAPP_TEMPLATE is empty; name the approved "
                "template the alert digest is sent with, or drop whatsapp from MATCH_ALERTS"
            )
        return self

    @property
    def alert_channels(self) -> tuple[str, ...]:
        return () if self.match_alerts == "off" else tuple(self.match_alerts.split(","))

    # Outside development the example secrets are refused. Each rule is a field validator, so one start
    # reports every problem at once (check_settings), not the first one per start.

    @field_validator("secret_key")
    @classmethod
    def _real_secret_key(cls, value: str, info: ValidationInfo) -> str:
        if _strict(info) and (value == EXAMPLE_SECRET_KEY or len(value) < 32):
            raise ValueError(
                "SECRET_KEY is the example value or shorter than 32 characters. Make one with "
                f"`{MAKE_SECRET}` and put it in .env as SECRET_KEY=..."
            )
        return value

    @field_validator("admin_email")
    @classmethod
    def _an_email(cls, value: str) -> str:
        if "@" not in value or value.strip() != value or len(value) > 320:
            raise ValueError("ADMIN_EMAIL is not an email address. Set the first admin's email in .env")
        return value

    @field_validator("admin_password")
    @classmethod
    def _real_admin_password(cls, value: str, info: ValidationInfo) -> str:
        if not _strict(info):
            return value  # the development admin's `test123` is shorter than the rule on purpose
        if value == EXAMPLE_ADMIN_PASSWORD:
            raise ValueError(
                "ADMIN_PASSWORD is the example value (test123). Put the first admin's real password in .env"
            )
        minimum = info.data.get("password_min_length", 8)
        if len(value) < minimum:
            raise ValueError(
                f"ADMIN_PASSWORD is shorter than PASSWORD_MIN_LENGTH ({minimum} characters). Choose a longer "
                "one in .env"
            )
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: str, info: ValidationInfo) -> str:
        if _strict(info) and "*" in [o.strip() for o in value.split(",")]:
            raise ValueError(
                "CORS_ORIGINS may be '*' only in development. List the frontend's origins in .env, "
                "e.g. CORS_ORIGINS=https://crm.example.com"
            )
        return value

    @field_validator("s3_bucket")
    @classmethod
    def _bucket_for_s3(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("storage_backend") == "s3" and not value:
            raise ValueError("S3_BUCKET is empty but STORAGE_BACKEND is s3. Name the bucket in .env")
        return value

    @property
    def cors_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def allowed_upload_types(self) -> set[str]:
        return {t.strip() for t in self.upload_allowed_types.split(",") if t.strip()}

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()


class SettingsError(Exception):
    """Every problem with the settings, each in plain words: the setting, what is wrong, how to fix it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def report(self) -> str:
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        return (
            f"The settings are not usable ({len(self.problems)} to fix, in .env or the environment):\n\n{lines}\n\n"
            "Fix them, then start again (with Docker: docker compose up -d)."
        )


def _describe(error: Any) -> str:
    name = "_".join(str(part) for part in error.get("loc", ())).upper() or "SETTINGS"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if message.startswith(name):
        return message
    value = error.get("input")
    shown = f" (it is {value!r})" if isinstance(value, str | int | float) and name not in SECRET_SETTINGS else ""
    return f"{name}: {message}{shown}"


def check_settings() -> Settings:
    """The settings, validated whole: raises SettingsError naming every problem at once."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise SettingsError([_describe(error) for error in exc.errors()]) from None


def settings_or_exit() -> Settings:
    """For every way the app starts (the web app, migrate.py, worker.py, admin.py): the settings, or every
    problem printed in plain words — no traceback — and exit code EXIT_SETTINGS, before anything else (such
    as waiting for the database) is tried."""
    try:
        return check_settings()
    except SettingsError as exc:
        print(exc.report(), file=sys.stderr)
        raise SystemExit(EXIT_SETTINGS) from None


def script_command(script: str) -> str:
    """How to run `scripts/<script>` from here, for the scripts' own hints: `python` in the container (no
    virtual environment there), the virtual environment's interpreter elsewhere (`.venv/bin/python`)."""
    if sys.prefix == sys.base_prefix:
        return f"python scripts/{script}"
    python = Path(sys.executable)
    if python.is_relative_to(Path.cwd()):
        python = python.relative_to(Path.cwd())
    return f"{python} scripts/{script}"
