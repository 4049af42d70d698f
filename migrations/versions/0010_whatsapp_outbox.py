"""whatsapp outbox: the sender's own record of the messages the server queued

Revision ID: 0010
Revises: 0009

Messages already queued by send-bulk are adopted: a MarketingLog row whose batch exists, made by the
batch's creator in the same instant as the batch (send-bulk writes both with one timestamp), still
queued. Anything else in the queue was not made by send-bulk and is never sent.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_outbox",
        sa.Column("log_id", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("phone_e164", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("armed", sa.Boolean(), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_whatsapp_outbox")),
    )
    with op.batch_alter_table("whatsapp_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_whatsapp_outbox_batch_id"), ["batch_id"], unique=False)
    op.execute(
        """
        INSERT INTO whatsapp_outbox (log_id, batch_id, phone_e164, fingerprint, armed, created_date)
        SELECT m.id, m.batch_id, m.phone_e164, NULL, m.status = 'queued', m.created_date
        FROM marketing_logs m JOIN whatsapp_batches b ON b.id = m.batch_id
        WHERE m.phone_e164 IS NOT NULL AND length(m.phone_e164) <= 32 AND m.created_date = b.created_date
          AND (m.created_by_id = b.created_by_id OR (m.created_by_id IS NULL AND b.created_by_id IS NULL))
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whatsapp_outbox_batch_id"))
    op.drop_table("whatsapp_outbox")
