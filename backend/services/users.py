"""User records: the public shape, lookups and admin management (API.md §4)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import BadRequest, Conflict, NotFound, ValidationFailed, field_error
from backend.models.base import utcnow
from backend.models.user import User
from backend.services import rules
from backend.services.entities import RECORD_ID
from backend.services.query.params import parse_q
from backend.services.registry import FIELD_NAME, MODELLED, stored_decls
from backend.services.security import hash_password
from backend.services.validation import MAX_DEPTH, MAX_EXTRA_BYTES, encode_extra, too_deep

ROLES = ("admin", "user")
USER_FIELDS = (
    "id",
    "email",
    "full_name",
    "role",
    "app_role",
    "disabled",
    "is_verified",
    "created_date",
    "updated_date",
)
# Keys a user may never set through their own profile, nor store as custom fields.
PROTECTED = {*USER_FIELDS, "password", "password_hash", "token_version", "extra", "app_id", "is_service"}
MAX_CUSTOM_FIELDS = 100


def user_record(user: Any) -> dict[str, Any]:
    """The user as the API shows it: never a hash, custom fields flattened in (from the model, or anything
    with the user's columns as attributes)."""
    record: dict[str, Any] = dict(user.extra or {})
    record.update({name: getattr(user, name) for name in USER_FIELDS})
    return record


def normalise_email(email: Any) -> str:
    if not isinstance(email, str) or "@" not in email or len(email) > 320 or email.strip() != email or "\x00" in email:
        raise ValidationFailed(
            "A valid email address is required", detail=[field_error("email", "not a valid email", email)]
        )
    return email.lower()


def check_password_rules(password: Any, field: str = "password") -> str:
    minimum = get_settings().password_min_length
    if not isinstance(password, str) or len(password) < minimum:
        raise ValidationFailed(
            f"The password must be at least {minimum} characters",
            detail=[field_error(field, f"at least {minimum} characters", None)],
        )
    if len(password) > 1024:
        raise ValidationFailed("The password is too long", detail=[field_error(field, "at most 1024 characters", None)])
    return password


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id) if RECORD_ID.match(user_id) else None  # other ids cannot exist
    if user is None:
        raise NotFound(f"No user with id {user_id!r}")
    return user


def own_record_query(user_id: str) -> Any:
    """The statement that reads the signed-in user's row (`/me`; `user_record` makes the record of it)."""
    return select(User.__table__).where(User.id == user_id)


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))


class Caller(Protocol):
    """Who asks (an `AuthUser`): the rules below depend on their id and whether they are the server's admin."""

    @property
    def id(self) -> str: ...

    @property
    def is_admin(self) -> bool: ...


def list_users(session: Session, caller: Caller, q: str | None = None) -> list[dict[str, Any]]:
    """The users `caller` may see — an admin every user, anyone else only themselves — newest first, narrowed by
    `q`'s plain equality filters (`{"app_role": "agent"}`). The same on both surfaces (REST lets only admins ask)."""
    query = select(User).order_by(User.created_date.desc(), User.id)
    if not caller.is_admin:
        query = query.where(User.id == caller.id)
    records = [user_record(u) for u in session.scalars(query)]
    wanted = parse_q(q) if q else None
    if not wanted:
        return records
    if any(not isinstance(v, str | int | bool | None) for v in wanted.values()):
        raise BadRequest("The User list supports plain equality filters only")
    return [r for r in records if all(r.get(k) == v for k, v in wanted.items())]


def _apply_custom(user: User, data: dict[str, Any]) -> None:
    custom = {k: v for k, v in data.items() if k not in PROTECTED}
    merged = {**(user.extra or {}), **custom}
    if len(merged) > MAX_CUSTOM_FIELDS:
        raise BadRequest(f"A user may have at most {MAX_CUSTOM_FIELDS} custom fields")
    deep = [k for k, v in custom.items() if too_deep(v)]
    if deep:
        raise ValidationFailed(
            f"{deep[0]}: lists and objects nested more than {MAX_DEPTH} levels deep",
            detail=[field_error(str(k)[:64], f"nested more than {MAX_DEPTH} levels deep", None) for k in deep[:5]],
        )
    encoded = encode_extra(custom)
    if len(encoded) > MAX_EXTRA_BYTES or b"\\u0000" in encoded or any(not FIELD_NAME.match(str(k)) for k in custom):
        raise ValidationFailed(
            "Custom fields must have simple names and stay under 256 KiB",
            detail=[field_error("*", "invalid custom fields", None)],
        )
    user.extra = merged


def _check_str(data: dict[str, Any], key: str, max_len: int = 200) -> None:
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > max_len or "\x00" in value):
        raise ValidationFailed(
            f"{key} must be text of at most {max_len} characters", detail=[field_error(key, "invalid", value)]
        )


def _decided_by_rules() -> set[str]:
    """Custom user fields some entity's row rule tests (`user_condition: {"data.team": ...}`): the admin's."""
    blocks = [spec.rls for spec in MODELLED.values()] + [decl.rls for decl in stored_decls().values()]
    return set().union(*(rules.user_fields(block) for block in blocks))


def update_profile(session: Session, user: User, data: dict[str, Any]) -> User:
    """A user's own changes: `full_name` and custom fields only. role, app_role, email, disabled and any
    custom field a row rule decides by are ignored — no one raises their own permissions."""
    _check_str(data, "full_name")
    if "full_name" in data:
        user.full_name = data["full_name"]
    guarded = _decided_by_rules()
    _apply_custom(user, {k: v for k, v in data.items() if k not in guarded})
    user.updated_date = utcnow()
    session.flush()
    return user


def create_user(
    session: Session, data: dict[str, Any], *, password_required: bool = True, enforce_rules: bool = True
) -> User:
    email = normalise_email(data.get("email"))
    role = data.get("role", "user")
    if role not in ROLES:
        raise ValidationFailed("role must be 'admin' or 'user'", detail=[field_error("role", "admin or user", role)])
    _check_str(data, "full_name")
    _check_str(data, "app_role", 64)
    password = data.get("password")
    if (password is not None or password_required) and enforce_rules:
        check_password_rules(password)
    if find_by_email(session, email) is not None:
        raise Conflict(f"A user with email {email} already exists")
    user = User(
        email=email,
        full_name=data.get("full_name"),
        role=role,
        app_role=data.get("app_role"),
        disabled=bool(data.get("disabled", False)),
        is_verified=bool(data.get("is_verified", False)),
        password_hash=hash_password(password) if password else None,
        extra={},
    )
    _apply_custom(user, data)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"A user with email {email} already exists") from None
    return user


LAST_ADMIN = (
    "This would leave no enabled administrator. Make another user an administrator first "
    "(or, on the server: python scripts/admin.py promote EMAIL)."
)
_ADMINS_LOCK = 0x6372_6D61_646D_696E  # advisory-lock key of "who is an admin" (PostgreSQL)


def _lock_admins(session: Session) -> None:
    """Serialise every change to who the enabled admins are, for the rest of this transaction.

    Without it, two admins demoting each other at once would each still see the other and both succeed.
    PostgreSQL: an advisory lock. SQLite: a write that matches nothing takes the database's one write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_ADMINS_LOCK)))
    else:
        session.execute(update(User).where(false()).values(role=User.role))


def keep_an_admin(session: Session, user: User, *, role: str, disabled: bool, deleting: bool = False) -> None:
    """Refuse (409) any change that would leave no enabled admin: demoting, disabling or deleting the last one.

    Every path that changes a role, disables or deletes a user — both API surfaces and scripts/admin.py —
    goes through here, so the rule holds however the change arrives.
    """
    was_admin = user.role == "admin" and not user.disabled
    stays_admin = not deleting and role == "admin" and not disabled
    if not was_admin or stays_admin:
        return
    _lock_admins(session)
    others = session.scalar(
        select(func.count()).where(User.role == "admin", User.disabled.is_(False), User.id != user.id)
    )
    if not others:
        raise Conflict(LAST_ADMIN)


def delete_user(session: Session, user_id: str, *, actor_id: str | None) -> None:
    """Delete a user (their tokens stop working at once); never your own account, never the last admin — the
    rules of both surfaces (`actor_id` None: the server's own scripts/admin.py, which has no account)."""
    if actor_id is not None and user_id == actor_id:
        raise Conflict("You cannot delete your own account; another administrator can")
    user = get_user(session, user_id)
    keep_an_admin(session, user, role=user.role, disabled=user.disabled, deleting=True)
    session.delete(user)
    session.flush()


def admin_update(session: Session, user: User, data: dict[str, Any]) -> User:
    """An admin's changes: everything but the id and the password (use a reset link for that)."""
    if "role" in data and data["role"] not in ROLES:
        raise ValidationFailed(
            "role must be 'admin' or 'user'", detail=[field_error("role", "admin or user", data["role"])]
        )
    for key in ("disabled", "is_verified"):
        if key in data and not isinstance(data[key], bool):
            raise ValidationFailed(f"{key} must be true or false", detail=[field_error(key, "boolean", data[key])])
    keep_an_admin(session, user, role=data.get("role", user.role), disabled=data.get("disabled", user.disabled))
    if "email" in data:
        email = normalise_email(data["email"])
        other = find_by_email(session, email)
        if other is not None and other.id != user.id:
            raise Conflict(f"A user with email {email} already exists")
        user.email = email
    if "role" in data:
        user.role = data["role"]
    for key in ("disabled", "is_verified"):
        if key in data:
            setattr(user, key, data[key])
    _check_str(data, "full_name")
    _check_str(data, "app_role", 64)
    for key in ("full_name", "app_role"):
        if key in data:
            setattr(user, key, data[key])
    _apply_custom(user, data)
    user.updated_date = utcnow()
    session.flush()
    return user
