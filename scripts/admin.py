"""Manage users from the server's command line — and get back in when the only admin's password is lost.

    python scripts/admin.py list
    python scripts/admin.py create-user EMAIL [--admin] [--app-role ROLE] [--name "Full Name"] [--password-stdin]
    python scripts/admin.py reset-password EMAIL [--password-stdin]
    python scripts/admin.py promote EMAIL        # make an admin
    python scripts/admin.py demote EMAIL         # back to an ordinary user (never the last admin)
    python scripts/admin.py enable EMAIL
    python scripts/admin.py disable EMAIL        # their sessions stop at once (never the last admin)

In Docker: `docker compose exec backend python scripts/admin.py list`. Without --password-stdin, create-user and
reset-password print a one-time link (valid 24 hours) to choose a password; with it, the password is asked for
at the terminal (twice, not shown) or read as one line from piped input. Everything goes through the same users
service as the API, with the same rules.
Exit codes: 0 done, 1 refused (the message says why), 69 no database, 78 wrong settings.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend.config import EXIT_DATABASE, script_command, settings_or_exit
from backend.database import get_engine, unit_of_work
from backend.errors import DomainError
from backend.jsonutil import format_datetime
from backend.models.user import User
from backend.services import auth
from backend.services import users as user_service


class Refused(Exception):
    """What the command could not do, in a sentence for the person at the keyboard."""


def _user(session: Session, email: str) -> User:
    user = user_service.find_by_email(session, email.strip())
    if user is None:
        raise Refused(f"No user with email {email.strip()!r} (see: {script_command('admin.py')} list)")
    return user


def _password(args: argparse.Namespace) -> str:
    """The new password from standard input: one line, or asked for without echo at a terminal."""
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise Refused("The two passwords differ; nothing was changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_list(session: Session, args: argparse.Namespace) -> None:
    rows = [("EMAIL", "NAME", "ROLE", "APP ROLE", "STATE", "PASSWORD", "CREATED")]
    for user in session.scalars(select(User).order_by(User.email)):
        state = "disabled" if user.disabled else "enabled"
        rows.append((user.email, user.full_name or "-", user.role, user.app_role or "-", state,
                     "set" if user.password_hash else "not set", format_datetime(user.created_date)[:10]))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"\n{len(rows) - 1} user(s)")


def cmd_create_user(session: Session, args: argparse.Namespace) -> None:
    data = {"email": args.email.strip(), "role": "admin" if args.admin else "user", "is_verified": True}
    if args.app_role:
        data["app_role"] = args.app_role
    if args.name:
        data["full_name"] = args.name
    if args.password_stdin:
        data["password"] = _password(args)
    user = user_service.create_user(session, data, password_required=False)
    print(f"Created {user.email} ({user.role}{', ' + user.app_role if user.app_role else ''}).")
    if not args.password_stdin:
        link = auth.issue_reset(session, user, purpose="invite")
        print(f"Send them this one-time link to choose a password (valid 24 hours):\n  {link['reset_url']}")


def cmd_reset_password(session: Session, args: argparse.Namespace) -> None:
    user = _user(session, args.email)
    if args.password_stdin:
        auth.set_password(session, user, _password(args))
        auth.clear_failures(session, user.email)
        then = "Enable the account (below) before they can sign in." if user.disabled else "They can sign in now."
        print(f"New password set for {user.email}; their earlier sessions are signed out. {then}")
    else:
        link = auth.issue_reset(session, user)
        print(f"One-time link for {user.email} to choose a new password (valid 24 hours):\n  {link['reset_url']}")
    if user.disabled:
        print(f"Note: this account is disabled. To let them in: {script_command('admin.py')} enable {user.email}")


def _change(data: dict[str, object], done: str) -> Callable[[Session, argparse.Namespace], None]:
    def command(session: Session, args: argparse.Namespace) -> None:
        user = _user(session, args.email)
        user_service.admin_update(session, user, data)  # the service refuses to leave no enabled admin
        print(f"{user.email} {done}.")

    return command


COMMANDS: dict[str, tuple[Callable[[Session, argparse.Namespace], None], str]] = {
    "list": (cmd_list, "show every user"),
    "create-user": (cmd_create_user, "create a user and print a one-time link to choose a password"),
    "reset-password": (cmd_reset_password, "print a one-time link, or set the password with --password-stdin"),
    "promote": (_change({"role": "admin"}, "is now an admin"), "make the user an admin"),
    "demote": (_change({"role": "user"}, "is now an ordinary user"), "make an admin an ordinary user"),
    "enable": (_change({"disabled": False}, "can sign in again"), "let a disabled user sign in again"),
    "disable": (_change({"disabled": True}, "is disabled; their sessions have stopped"), "stop a user signing in"),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name != "list":
            sub.add_argument("email", metavar="EMAIL")
        if name == "create-user":
            sub.add_argument("--admin", action="store_true", help="make the user an admin")
            sub.add_argument("--app-role", metavar="ROLE", help="the app's own role, e.g. agent")
            sub.add_argument("--name", metavar="NAME", help="full name")
        if name in ("create-user", "reset-password"):
            sub.add_argument("--password-stdin", action="store_true", help="read the password from the input")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings_or_exit()
    command = COMMANDS[args.command][0]
    try:
        with unit_of_work() as session:
            command(session, args)
    except (Refused, DomainError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        url = get_engine().url.render_as_string(hide_password=True)
        print(f"error: cannot reach the database (DATABASE_URL={url}): {str(exc.orig).strip()[:200]}", file=sys.stderr)
        return EXIT_DATABASE
    return 0


if __name__ == "__main__":
    sys.exit(main())
