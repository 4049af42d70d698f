"""initial schema: users, auth bookkeeping and the CRM entities

Revision ID: 0001
Revises:
Create Date: 2026-11-25 06:02:05.061036
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "clients",
        sa.Column("contact_id", sa.Text(), nullable=True),
        sa.Column("handler", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("request_category", sa.Text(), nullable=True),
        sa.Column("property_type", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("area", sa.Text(), nullable=True),
        sa.Column("budget", sa.BigInteger(), nullable=True),
        sa.Column("rooms", sa.Text(), nullable=True),
        sa.Column("parking", sa.Boolean(), nullable=True),
        sa.Column("air_conditioning", sa.Boolean(), nullable=True),
        sa.Column("storage", sa.Boolean(), nullable=True),
        sa.Column("balcony", sa.Boolean(), nullable=True),
        sa.Column("elevator", sa.Boolean(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clients_city"), ["city"], unique=False)
        batch_op.create_index(batch_op.f("ix_clients_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_clients_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_clients_request_category"), ["request_category"], unique=False)
        batch_op.create_index(batch_op.f("ix_clients_status"), ["status"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("full_name", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("whatsapp_id", sa.Text(), nullable=True),
        sa.Column("whatsapp_link", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_city"), ["city"], unique=False)
        batch_op.create_index("ix_contacts_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_phone"), ["phone"], unique=False)

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_email_at", ["email", "at"], unique=False)
        batch_op.create_index("ix_login_failures_ip_at", ["ip", "at"], unique=False)

    op.create_table(
        "marketing_leads",
        sa.Column("phone_number", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("budget", sa.Text(), nullable=True),
        sa.Column("neighborhood", sa.Text(), nullable=True),
        sa.Column("street", sa.Text(), nullable=True),
        sa.Column("rooms_min", sa.BigInteger(), nullable=True),
        sa.Column("rooms_max", sa.BigInteger(), nullable=True),
        sa.Column("client_type", sa.Text(), nullable=True),
        sa.Column("seriousness", sa.Text(), nullable=True),
        sa.Column("additional_notes", sa.Text(), nullable=True),
        sa.Column("opt_out_whatsapp", sa.Text(), nullable=True),
        sa.Column("import_date", sa.Text(), nullable=True),
        sa.Column("last_contacted", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_leads")),
    )
    with op.batch_alter_table("marketing_leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketing_leads_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_marketing_leads_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_marketing_leads_phone_number"), ["phone_number"], unique=False)

    op.create_table(
        "marketing_logs",
        sa.Column("lead_id", sa.Text(), nullable=True),
        sa.Column("phone_number", sa.Text(), nullable=True),
        sa.Column("message_content", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("sent_date", sa.Text(), nullable=True),
        sa.Column("response_data", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.Text(), nullable=True),
        sa.Column("phone_e164", sa.Text(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("template_name", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.Text(), nullable=True),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=True),
        sa.Column("next_attempt_at", sa.Text(), nullable=True),
        sa.Column("delivered_date", sa.Text(), nullable=True),
        sa.Column("read_date", sa.Text(), nullable=True),
        sa.Column("failed_date", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_logs")),
    )
    with op.batch_alter_table("marketing_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketing_logs_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_marketing_logs_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_marketing_logs_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_marketing_logs_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_marketing_logs_phone_e164"), ["phone_e164"], unique=False)
        batch_op.create_index(batch_op.f("ix_marketing_logs_phone_number"), ["phone_number"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_marketing_logs_provider_message_id"), ["provider_message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_marketing_logs_status"), ["status"], unique=False)

    op.create_table(
        "matches",
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("property_id", sa.Text(), nullable=True),
        sa.Column("match_score", sa.BigInteger(), nullable=True),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
        sa.UniqueConstraint("client_id", "property_id", name=op.f("uq_matches_client_id")),
    )
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matches_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_matches_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_match_score"), ["match_score"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_property_id"), ["property_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_status"), ["status"], unique=False)

    op.create_table(
        "meetings",
        sa.Column("contact_id", sa.Text(), nullable=True),
        sa.Column("property_id", sa.Text(), nullable=True),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("handler", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Text(), nullable=True),
        sa.Column("end_date", sa.Text(), nullable=True),
        sa.Column("reminder_date", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("meeting_type", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetings_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_meetings_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_property_id"), ["property_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_start_date"), ["start_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_status"), ["status"], unique=False)

    op.create_table(
        "password_resets",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_password_resets")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_resets_user_id"), ["user_id"], unique=False)

    op.create_table(
        "projects",
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("handler", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("area", sa.Text(), nullable=True),
        sa.Column("apartment_type_1", sa.Text(), nullable=True),
        sa.Column("apartment_type_2", sa.Text(), nullable=True),
        sa.Column("apartment_type_3", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index("ix_projects_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_status"), ["status"], unique=False)

    op.create_table(
        "properties",
        sa.Column("contact_id", sa.Text(), nullable=True),
        sa.Column("handler", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("property_type", sa.Text(), nullable=True),
        sa.Column("listing_type", sa.Text(), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("area", sa.Text(), nullable=True),
        sa.Column("street", sa.Text(), nullable=True),
        sa.Column("building_number", sa.Text(), nullable=True),
        sa.Column("apartment_number", sa.Text(), nullable=True),
        sa.Column("rooms", sa.Text(), nullable=True),
        sa.Column("floor", sa.Text(), nullable=True),
        sa.Column("total_floors", sa.Text(), nullable=True),
        sa.Column("square_meters", sa.BigInteger(), nullable=True),
        sa.Column("parking", sa.Boolean(), nullable=True),
        sa.Column("air_conditioning", sa.Boolean(), nullable=True),
        sa.Column("storage", sa.Boolean(), nullable=True),
        sa.Column("balcony", sa.Boolean(), nullable=True),
        sa.Column("elevator", sa.Boolean(), nullable=True),
        sa.Column(
            "image_urls", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_properties")),
    )
    with op.batch_alter_table("properties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_properties_city"), ["city"], unique=False)
        batch_op.create_index(batch_op.f("ix_properties_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_properties_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_properties_listing_type"), ["listing_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_properties_price"), ["price"], unique=False)
        batch_op.create_index(batch_op.f("ix_properties_status"), ["status"], unique=False)

    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revoked_tokens_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "service_calls",
        sa.Column("call_number", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.Text(), nullable=True),
        sa.Column("property_id", sa.Text(), nullable=True),
        sa.Column("supplier_id", sa.Text(), nullable=True),
        sa.Column("handler", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("urgency", sa.Text(), nullable=True),
        sa.Column("total_cost", sa.Float(), nullable=True),
        sa.Column("work_date", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_calls")),
    )
    with op.batch_alter_table("service_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_calls_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_service_calls_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_calls_property_id"), ["property_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_calls_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_calls_supplier_id"), ["supplier_id"], unique=False)

    op.create_table(
        "suppliers",
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("specialization", sa.Text(), nullable=True),
        sa.Column("hourly_rate", sa.BigInteger(), nullable=True),
        sa.Column("rating", sa.BigInteger(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
    )
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.create_index("ix_suppliers_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_suppliers_specialization"), ["specialization"], unique=False)

    op.create_table(
        "tasks",
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("assignee", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Text(), nullable=True),
        sa.Column("priority", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.Text(), nullable=True),
        sa.Column("property_id", sa.Text(), nullable=True),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.String(length=64), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_tasks_created_date_id", ["created_date", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_due_date"), ["due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_property_id"), ["property_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_status"), ["status"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("app_role", sa.String(length=64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("is_verified", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column(
            "extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )


def downgrade() -> None:

    op.drop_table("users")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_status"))
        batch_op.drop_index(batch_op.f("ix_tasks_property_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_due_date"))
        batch_op.drop_index("ix_tasks_created_date_id")
        batch_op.drop_index(batch_op.f("ix_tasks_contact_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_client_id"))

    op.drop_table("tasks")
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppliers_specialization"))
        batch_op.drop_index("ix_suppliers_created_date_id")

    op.drop_table("suppliers")
    with op.batch_alter_table("service_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_calls_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_service_calls_status"))
        batch_op.drop_index(batch_op.f("ix_service_calls_property_id"))
        batch_op.drop_index("ix_service_calls_created_date_id")
        batch_op.drop_index(batch_op.f("ix_service_calls_contact_id"))

    op.drop_table("service_calls")
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_tokens_expires_at"))

    op.drop_table("revoked_tokens")
    with op.batch_alter_table("properties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_properties_status"))
        batch_op.drop_index(batch_op.f("ix_properties_price"))
        batch_op.drop_index(batch_op.f("ix_properties_listing_type"))
        batch_op.drop_index("ix_properties_created_date_id")
        batch_op.drop_index(batch_op.f("ix_properties_contact_id"))
        batch_op.drop_index(batch_op.f("ix_properties_city"))

    op.drop_table("properties")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_status"))
        batch_op.drop_index("ix_projects_created_date_id")

    op.drop_table("projects")
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_resets_user_id"))

    op.drop_table("password_resets")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetings_status"))
        batch_op.drop_index(batch_op.f("ix_meetings_start_date"))
        batch_op.drop_index(batch_op.f("ix_meetings_property_id"))
        batch_op.drop_index("ix_meetings_created_date_id")
        batch_op.drop_index(batch_op.f("ix_meetings_contact_id"))
        batch_op.drop_index(batch_op.f("ix_meetings_client_id"))

    op.drop_table("meetings")
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matches_status"))
        batch_op.drop_index(batch_op.f("ix_matches_property_id"))
        batch_op.drop_index(batch_op.f("ix_matches_match_score"))
        batch_op.drop_index("ix_matches_created_date_id")
        batch_op.drop_index(batch_op.f("ix_matches_client_id"))

    op.drop_table("matches")
    with op.batch_alter_table("marketing_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marketing_logs_status"))
        batch_op.drop_index(batch_op.f("ix_marketing_logs_provider_message_id"))
        batch_op.drop_index(batch_op.f("ix_marketing_logs_phone_number"))
        batch_op.drop_index(batch_op.f("ix_marketing_logs_phone_e164"))
        batch_op.drop_index(batch_op.f("ix_marketing_logs_lead_id"))
        batch_op.drop_index("ix_marketing_logs_created_date_id")
        batch_op.drop_index(batch_op.f("ix_marketing_logs_contact_id"))
        batch_op.drop_index(batch_op.f("ix_marketing_logs_batch_id"))

    op.drop_table("marketing_logs")
    with op.batch_alter_table("marketing_leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marketing_leads_phone_number"))
        batch_op.drop_index("ix_marketing_leads_created_date_id")
        batch_op.drop_index(batch_op.f("ix_marketing_leads_contact_id"))

    op.drop_table("marketing_leads")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_ip_at")
        batch_op.drop_index("ix_login_failures_email_at")

    op.drop_table("login_failures")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_phone"))
        batch_op.drop_index("ix_contacts_created_date_id")
        batch_op.drop_index(batch_op.f("ix_contacts_city"))

    op.drop_table("contacts")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_status"))
        batch_op.drop_index(batch_op.f("ix_clients_request_category"))
        batch_op.drop_index("ix_clients_created_date_id")
        batch_op.drop_index(batch_op.f("ix_clients_contact_id"))
        batch_op.drop_index(batch_op.f("ix_clients_city"))

    op.drop_table("clients")
