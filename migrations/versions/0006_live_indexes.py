"""live indexes: every entity table's list order indexes only its live (not deleted) rows

A list page is `WHERE deleted_at IS NULL ORDER BY created_date DESC, id DESC LIMIT n`. On a table loaded
a moment ago (no ANALYZE yet) PostgreSQL guessed the condition keeps 0.5 % of the rows and sorted the
whole table for each page; an index with the same condition is read in order whatever the statistics.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "clients", "contacts", "marketing_leads", "marketing_logs", "matches", "meetings",
    "projects", "properties", "service_calls", "suppliers", "tasks",
)  # fmt: skip
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(f"ix_{table}_created_date_id")
            batch_op.create_index(f"ix_{table}_live", ["created_date", "id"], postgresql_where=LIVE, sqlite_where=LIVE)
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_index("ix_documents_created_date_id")
        batch_op.drop_index("ix_documents_entity_created")
        batch_op.create_index(
            "ix_documents_live", ["entity_name", "created_date", "id"], postgresql_where=LIVE, sqlite_where=LIVE
        )


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_index("ix_documents_live")
        batch_op.create_index("ix_documents_entity_created", ["entity_name", "created_date", "id"])
        batch_op.create_index("ix_documents_created_date_id", ["created_date", "id"])
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(f"ix_{table}_live")
            batch_op.create_index(f"ix_{table}_created_date_id", ["created_date", "id"])
