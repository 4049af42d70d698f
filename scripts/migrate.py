"""Bring the database to the current schema and make sure an admin exists. Safe to run on every start.

python scripts/migrate.py            # wait for the database, `alembic upgrade head`, first admin
python scripts/migrate.py --demo     # ... and load the demo office from seeds/ into an empty database
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from backend.config import EXIT_DATABASE, get_settings, script_command, settings_or_exit
from backend.database import get_engine, unit_of_work
from backend.models.user import User
from backend.services.users import create_user, find_by_email


def wait_for_database(timeout: float) -> None:
    """Until the database answers; else a plain message and exit EXIT_DATABASE (the settings were checked
    before, so what fails here is the database, not a setting)."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except Exception as exc:  # keep trying until the deadline; report the last reason
            last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            time.sleep(1)
    print(
        f"The database did not answer within {timeout:.0f} s (DATABASE_URL={_safe_url()}).\n"
        f"Last error: {last_error}\nIs it running, and are host, port, user and password right?",
        file=sys.stderr,
    )
    sys.exit(EXIT_DATABASE)


def _safe_url() -> str:
    return get_engine().url.render_as_string(hide_password=True)


def upgrade() -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    command.upgrade(config, "head")


def ensure_admin() -> None:
    settings = get_settings()
    with unit_of_work() as session:
        if session.scalar(select(User.id).where(User.role == "admin").limit(1)):
            print("An admin already exists; leaving users as they are.")
            return
        if find_by_email(session, settings.admin_email) is not None:
            print(
                f"There is no admin, and {settings.admin_email} (ADMIN_EMAIL) is an ordinary user. Make them an "
                f"admin with: {script_command('admin.py')} promote {settings.admin_email}",
                file=sys.stderr,
            )
            sys.exit(1)
        create_user(
            session,
            {
                "email": settings.admin_email,
                "password": settings.admin_password,
                "role": "admin",
                "full_name": "Administrator",
                "app_role": "admin",
                "is_verified": True,
            },
            # The development admin's example password (`test123`) is shorter than the rule; outside
            # development the example password is refused at start-up anyway.
            enforce_rules=settings.environment != "development",
        )
        print(f"Created the first admin: {settings.admin_email}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="load the demo office into an empty database")
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for the database (default 60)")
    args = parser.parse_args()
    settings_or_exit()  # every settings problem at once, before waiting for the database
    wait_for_database(args.wait)
    upgrade()
    ensure_admin()
    if args.demo:
        from seeds import load_demo

        print(load_demo.run())


if __name__ == "__main__":
    main()
