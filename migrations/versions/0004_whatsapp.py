"""whatsapp: bulk batches, idempotency keys, opted-out phones, the shared send pacer, the sender's index

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:

    op.create_table(
        "whatsapp_batches",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("skipped_reasons", _json(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("template", _json(), nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("finished_date", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_batches")),
    )
    with op.batch_alter_table("whatsapp_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_whatsapp_batches_status"), ["status"], unique=False)

    op.create_table(
        "whatsapp_idempotency_keys",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("log_id", sa.String(length=64), nullable=True),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_whatsapp_idempotency_keys")),
    )
    with op.batch_alter_table("whatsapp_idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_whatsapp_idempotency_keys_created_date"), ["created_date"], unique=False)

    op.create_table(
        "whatsapp_opt_outs",
        sa.Column("phone_e164", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone_e164", name=op.f("pk_whatsapp_opt_outs")),
    )
    op.create_table(
        "whatsapp_pacer",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("next_slot", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_pacer")),
    )
    with op.batch_alter_table("marketing_logs", schema=None) as batch_op:
        batch_op.create_index("ix_marketing_logs_status_next_attempt", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("marketing_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_marketing_logs_status_next_attempt")

    op.drop_table("whatsapp_pacer")
    op.drop_table("whatsapp_opt_outs")
    with op.batch_alter_table("whatsapp_idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whatsapp_idempotency_keys_created_date"))

    op.drop_table("whatsapp_idempotency_keys")
    with op.batch_alter_table("whatsapp_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whatsapp_batches_status"))

    op.drop_table("whatsapp_batches")
