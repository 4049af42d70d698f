"""Shapes of the auth and user routes (documentation and validation of small bodies)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UserOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    email: str
    full_name: str | None = None
    role: str
    app_role: str | None = None
    disabled: bool
    is_verified: bool
    created_date: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS.ffffff (Base44's format, no offset)")
    updated_date: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS.ffffff (Base44's format, no offset)")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


class ChangePasswordIn(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class ResetPasswordIn(BaseModel):
    reset_token: str = Field(max_length=200)
    new_password: str = Field(max_length=1024)


class ResetLinkOut(BaseModel):
    reset_token: str
    reset_url: str
    expires_at: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS.ffffff (no offset)")


class UserCreateIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    email: str = Field(max_length=320)
    full_name: str | None = Field(default=None, max_length=200)
    role: str = "user"
    app_role: str | None = Field(default=None, max_length=64)
    password: str = Field(max_length=1024)


class HealthOut(BaseModel):
    status: str
    database: str
    version: str
