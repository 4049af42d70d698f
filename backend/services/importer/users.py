"""`--users users.json`: Base44's users, recreated here without passwords (none can leave Base44), each with a
one-time link to set one. The user's Base44 id and dates are kept, so `created_by_id` on records still names them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.database import discard, unit_of_work
from backend.errors import DomainError
from backend.models.user import User
from backend.services.auth import issue_reset
from backend.services.entities import RECORD_ID
from backend.services.importer.cells import CellError, json_loads, parse_timestamp
from backend.services.importer.sources import SourceError
from backend.services.users import create_user, find_by_email

BASE44_ONLY = {"id", "created_date", "updated_date", "app_id", "is_service", "_app_role", "password"}


@dataclass
class UserResult:
    email: str
    status: str  # created · exists · rejected
    detail: str = ""
    reset_url: str | None = None


def read_users(path: Path) -> list[Any]:
    try:
        data = json_loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SourceError(f"{path.name} is not a readable JSON file: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(data, list):
        raise SourceError(f"{path.name} must hold a JSON array of users")
    return data


def _keep_identity(session: Session, user: User, item: dict[str, Any]) -> User:
    """Gives the new user its Base44 id and dates (create_user makes fresh ones)."""
    values: dict[str, Any] = {}
    wanted = item.get("id")
    if isinstance(wanted, str) and RECORD_ID.match(wanted) and session.get(User, wanted) is None:
        values["id"] = wanted
    for name in ("created_date", "updated_date"):
        with contextlib.suppress(CellError):
            values[name] = parse_timestamp(item.get(name))
    if not values:
        return user
    session.execute(update(User).where(User.id == user.id).values(**values))
    session.expunge(user)
    found = session.get(User, values.get("id", user.id))
    assert found is not None
    return found


def import_one(session: Session, item: Any) -> UserResult:
    if not isinstance(item, dict):
        return UserResult("?", "rejected", "not a JSON object")
    email = item.get("email")
    label = email if isinstance(email, str) else "?"
    existing = find_by_email(session, email) if isinstance(email, str) else None
    if existing is not None:
        link = None
        if existing.password_hash is None and not existing.disabled:  # never signed in yet: a fresh link
            link = issue_reset(session, existing)["reset_url"]
        return UserResult(existing.email, "exists", "left as it is", link)
    role = item.get("role") if item.get("role") in ("admin", "user") else "user"
    data = {k: v for k, v in item.items() if k not in BASE44_ONLY} | {"role": role}
    data["is_verified"] = bool(item.get("is_verified", False))
    data["disabled"] = item.get("disabled") is True
    try:
        user = create_user(session, data, password_required=False)
    except DomainError as exc:
        return UserResult(label, "rejected", exc.message)
    user = _keep_identity(session, user, item)
    link = None if user.disabled else issue_reset(session, user)["reset_url"]
    return UserResult(user.email, "created", f"role {user.role}, app_role {user.app_role or '-'}", link)


def import_users(sessions: sessionmaker[Session], items: list[Any], *, dry_run: bool = False) -> list[UserResult]:
    """Each user in its own transaction (one bad entry does not stop the others); a dry run rolls all back."""
    results = []
    for item in items:
        with unit_of_work(sessions) as session:
            result = import_one(session, item)
            if dry_run:
                discard(session)
                result.reset_url = None
        results.append(result)
    return results
