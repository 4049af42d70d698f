"""matching where the office works: one match per pair on the brokerage match tables, the reasons the engine
writes there, the record of match alerts sent and the meeting reminders' schedule

MatchesBrokerage and Matches (buyers_renters_matches) get `reasons` and a unique (property_id, buyer_id),
as the seed's Match always had: the engine and the office's browser both create these pairs, and one
record per pair is what the pages expect. Base44 never enforced it, so a database that already holds a
pair twice keeps one record of it (the one an agent worked on: live first, a status other than the
untouched `הותאם`, the latest change) and moves the others, all their fields intact, to the document
store as `MatchesBrokerageDuplicate` / `MatchesDuplicate` records (readable and exportable like any entity).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
MATCH_TABLES = {"matches_brokerage": "MatchesBrokerageDuplicate", "buyers_renters_matches": "MatchesDuplicate"}
FIELDS = ("property_id", "buyer_id", "match_score", "status")
BUILTINS = ("id", "created_date", "updated_date", "created_by", "created_by_id", "is_sample", "deleted_at", "version")
TYPES = {"created_date": sa.DateTime, "updated_date": sa.DateTime, "deleted_at": sa.DateTime, "is_sample": sa.Boolean,
         "version": sa.Integer, "match_score": sa.BigInteger}  # fmt: skip


def _columns(*names: str) -> list[Any]:
    return [sa.column(name, TYPES.get(name, sa.Text)) for name in names]


def _keep_first(row: Any) -> tuple[Any, ...]:
    """Sort key: the record to keep comes first."""
    worked = row.status not in (None, "", "הותאם")
    return (row.deleted_at is not None, not worked, -(row.updated_date.timestamp()), row.id)


def _set_aside_duplicates(table_name: str, entity: str) -> None:
    bind = op.get_bind()
    table = sa.table(table_name, *_columns(*BUILTINS, *FIELDS), sa.column("extra", JSON))
    documents = sa.table("documents", *_columns(*BUILTINS, "entity_name"), sa.column("extra", JSON))
    twice = (
        sa.select(table.c.property_id, table.c.buyer_id)
        .where(table.c.property_id.is_not(None), table.c.buyer_id.is_not(None))
        .group_by(table.c.property_id, table.c.buyer_id)
        .having(sa.func.count() > 1)
    )
    for property_id, buyer_id in bind.execute(twice).all():
        rows = bind.execute(
            sa.select(table).where(table.c.property_id == property_id, table.c.buyer_id == buyer_id)
        ).all()
        for row in sorted(rows, key=_keep_first)[1:]:
            fields = {**(row.extra or {}), **{name: getattr(row, name) for name in FIELDS}}
            copy = {name: getattr(row, name) for name in BUILTINS}
            copy.update(entity_name=entity, deleted_at=None, extra=json.loads(json.dumps(fields, default=str)))
            bind.execute(sa.insert(documents).values(**copy))
            bind.execute(sa.delete(table).where(table.c.id == row.id))


def upgrade() -> None:
    op.create_table(
        "match_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("pairing", sa.String(length=64), nullable=False),
        sa.Column("match_id", sa.String(length=64), nullable=False),
        sa.Column("seek_id", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("recipient_user_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("digest_id", sa.String(length=64), nullable=True),
        sa.Column("marketing_log_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("sent_date", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_alerts")),
        sa.UniqueConstraint("pairing", "seek_id", "offer_id", "channel", name=op.f("uq_match_alerts_pairing")),
    )
    with op.batch_alter_table("match_alerts") as batch_op:
        batch_op.create_index(batch_op.f("ix_match_alerts_digest_id"), ["digest_id"], unique=False)
        batch_op.create_index("ix_match_alerts_status_id", ["status", "id"], unique=False)

    op.create_table(
        "meeting_reminders",
        sa.Column("meeting_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remind_at", sa.DateTime(), nullable=True),
        sa.Column("sent_for", sa.DateTime(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("marketing_log_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_meeting_reminders")),
    )
    with op.batch_alter_table("meeting_reminders") as batch_op:
        batch_op.create_index("ix_meeting_reminders_due", ["status", "remind_at"], unique=False)

    for table_name, entity in MATCH_TABLES.items():
        _set_aside_duplicates(table_name, entity)
        with op.batch_alter_table(table_name) as batch_op:
            batch_op.add_column(sa.Column("reasons", JSON, nullable=True))
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table_name}_property_id"), ["property_id", "buyer_id"])


def downgrade() -> None:
    for table_name in MATCH_TABLES:
        with op.batch_alter_table(table_name) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{table_name}_property_id"), type_="unique")
            batch_op.drop_column("reasons")
    with op.batch_alter_table("meeting_reminders") as batch_op:
        batch_op.drop_index("ix_meeting_reminders_due")
    op.drop_table("meeting_reminders")
    with op.batch_alter_table("match_alerts") as batch_op:
        batch_op.drop_index("ix_match_alerts_status_id")
        batch_op.drop_index(batch_op.f("ix_match_alerts_digest_id"))
    op.drop_table("match_alerts")
