"""All configuration, read once from the environment (and `.env`). Every field is in `.env.example`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent

# The values shipped in .env.example. Outside development the app refuses to start with them.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string"
EXAMPLE_ADMIN_PASSWORD = "test123"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = ""
    secret_key: str = EXAMPLE_SECRET_KEY
    admin_email: str = "admin@test.com"
    admin_password: str = EXAMPLE_ADMIN_PASSWORD
    access_token_expire_minutes: int = 720
    cors_origins: str = "http://localhost:5173,http://localhost:3000"
    frontend_url: str = "http://localhost:5173"
    public_url: str = "http://localhost:8000"
    base44_app_id: str = ""
    docs_enabled: bool = True

    max_body_bytes: int = 2 * 1024 * 1024
    max_page_size: int = 5000
    login_max_failures: int = 5
    login_window_seconds: int = 900
    password_min_length: int = 8

    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: float = 10.0

    upload_max_bytes: int = 25 * 1024 * 1024
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
    whatsapp_send_rate: float = 20.0
    whatsapp_connect_timeout: float = 5.0
    whatsapp_read_timeout: float = 20.0
    whatsapp_inapp_sender: bool = True
    phone_default_region: str = "IL"

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = True

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

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

    @model_validator(mode="after")
    def _refuse_example_secrets(self) -> Settings:
        if self.environment == "development":
            return self
        if self.secret_key == EXAMPLE_SECRET_KEY or len(self.secret_key) < 32:
            raise ValueError(
                "SECRET_KEY is the example value or shorter than 32 characters; set SECRET_KEY to a "
                "long random string (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "or run with ENVIRONMENT=development"
            )
        if self.admin_password == EXAMPLE_ADMIN_PASSWORD:
            raise ValueError(
                "ADMIN_PASSWORD is the example value; set ADMIN_PASSWORD to the first admin's real "
                "password or run with ENVIRONMENT=development"
            )
        if "*" in self.cors_list:
            raise ValueError("CORS_ORIGINS may be '*' only with ENVIRONMENT=development; list the origins")
        return self

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
