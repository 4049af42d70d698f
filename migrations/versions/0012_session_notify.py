"""sessions: PostgreSQL tells every process when what the session check reads changes

A statement-level trigger on `users`, `revoked_tokens` and `registry_generation` NOTIFYs `crm_sessions` in
the writing transaction; PostgreSQL delivers it when that transaction commits, to every listening process,
whoever wrote (a uvicorn worker, scripts/admin.py, psql). Each process then forgets the sessions it had
checked (backend/services/session_cache.py). SQLite: nothing (one process; the cache is not used there).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "revoked_tokens", "registry_generation")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION crm_sessions_changed() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_notify('crm_sessions', ''); RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_sessions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION crm_sessions_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_sessions_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS crm_sessions_changed()")
