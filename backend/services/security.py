"""Password hashing (Argon2id via pwdlib) and JWTs (PyJWT, HS256 only, `exp` required)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from backend.config import get_settings
from backend.errors import Unauthorized

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the email is unknown, so that failure costs the same time either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-time-ish: always runs one Argon2 verification, even without a stored hash."""
    try:
        ok = _hasher.verify(password, password_hash or _DUMMY_HASH)
    except Exception:  # a malformed stored hash is a failed login, never a 500
        return False
    return ok and password_hash is not None


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class TokenClaims:
    sub: str
    jti: str
    ver: int
    exp: dt.datetime


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def create_access_token(user_id: str, email: str, role: str, token_version: int) -> tuple[str, int]:
    """Returns the token and its lifetime in seconds."""
    settings = get_settings()
    lifetime = settings.access_token_expire_minutes * 60
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "email": email,
        "role": role,
        "ver": token_version,
        "iat": now,
        "exp": now + dt.timedelta(seconds=lifetime),
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), lifetime


def decode_access_token(token: str) -> TokenClaims:
    """Any defect — other algorithm, bad signature, missing or past `exp`, wrong shape — is a 401.

    A token that verified once is remembered (it is an immutable string, and so is the verdict), so the
    signature is not checked again on every request; expiry is. Whether the session is still valid —
    the user enabled, the token not revoked — is the database's question, asked on every request.
    """
    claims = _verified(token, get_settings().secret_key)
    if claims.exp <= dt.datetime.now(dt.UTC).replace(tzinfo=None):
        raise Unauthorized("The session has expired; sign in again")
    return claims


@lru_cache(maxsize=4096)
def _verified(token: str, secret_key: str) -> TokenClaims:
    """Signature and shape; a failure raises, and exceptions are never cached."""
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
        sub, jti, ver = claims["sub"], claims["jti"], claims.get("ver", 1)
        if not isinstance(sub, str) or not isinstance(jti, str) or not isinstance(ver, int):
            raise jwt.InvalidTokenError("bad claim types")
        exp = dt.datetime.fromtimestamp(claims["exp"], dt.UTC).replace(tzinfo=None)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The session has expired; sign in again") from None
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError, OverflowError):
        raise Unauthorized("Invalid authentication token") from None
    return TokenClaims(sub=sub, jti=jti, ver=ver, exp=exp)
