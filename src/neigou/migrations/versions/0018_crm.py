"""crm: a salesperson's customer book, marketing consent, segments, push settings, pushes and their
messages and skips; products carry taste tags and a share link may carry the push it was made for

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import neigou.kit.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = neigou.kit.db.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=20)  # as kit.db.str_enum


def _power() -> sa.Enum:
    return _enum("spendingpower", "low", "mid", "high")


def _channel() -> sa.Enum:
    return _enum("pushchannel", "task", "wecom_robot", "webhook")


def _program(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["program_id"], ["programs.id"], name=f"fk_{table}_program_id_programs", ondelete="CASCADE"
    )


def _member(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["member_id"], ["members.id"], name=f"fk_{table}_member_id_members", ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tags", JSON, server_default=sa.text("'[]'"), nullable=False))
    op.create_table(
        "customers",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("customer_ref_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_ref_masked", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("job", sa.String(length=120), nullable=True),
        sa.Column("spending_power", _power(), nullable=True),
        sa.Column("spending_power_derived", _power(), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("source", _enum("customersource", "manual", "import", "claim", "order"), nullable=False),
        sa.Column("source_link_id", ID, nullable=True),
        sa.Column("last_purchase_at", TS, nullable=True),
        sa.Column("last_click_at", TS, nullable=True),
        sa.Column("preferred_categories", JSON, nullable=False),
        sa.Column("derived_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("erased_at", TS, nullable=True),
        _program("customers"),
        _member("customers"),
        sa.ForeignKeyConstraint(
            ["source_link_id"],
            ["share_links.id"],
            name="fk_customers_source_link_id_share_links",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint(
            "member_id", "customer_ref_hash", name=op.f("uq_customers_member_id_customer_ref_hash")
        ),
    )
    op.create_index("ix_customers_program_ref", "customers", ["program_id", "customer_ref_hash"])
    op.create_index("ix_customers_member_id", "customers", ["member_id", "id"])
    op.create_table(
        "customer_consents",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("purpose", _enum("consentpurpose", "marketing"), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("withdrawn_at", TS, nullable=True),
        sa.Column("recorded_at", TS, nullable=False),
        _program("customer_consents"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_customer_consents_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_consents")),
    )
    op.create_index("ix_customer_consents_program_id", "customer_consents", ["program_id"])
    op.create_index("ix_customer_consents_customer", "customer_consents", ["customer_id", "purpose", "id"])
    op.create_table(
        "customer_segments",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("spending_power", _power(), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("dormant_days", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("birthday_month", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "birthday_month BETWEEN 1 AND 12", name=op.f("ck_customer_segments_birthday_month")
        ),
        sa.CheckConstraint("dormant_days >= 0", name=op.f("ck_customer_segments_dormant_days")),
        _program("customer_segments"),
        _member("customer_segments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_segments")),
    )
    op.create_index("ix_customer_segments_program_member", "customer_segments", ["program_id", "member_id"])
    op.create_table(
        "crm_settings",
        sa.Column("program_id", ID, nullable=False),
        sa.Column("channel", _channel(), nullable=False),
        sa.Column("cap_pushes", sa.Integer(), nullable=False),
        sa.Column("cap_days", sa.Integer(), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=False),
        sa.Column("quiet_end", sa.Time(), nullable=False),
        sa.Column("target_sealed", sa.Text(), nullable=True),
        sa.Column("target_masked", sa.String(length=200), nullable=True),
        sa.Column("secret_sealed", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("cap_pushes >= 1", name=op.f("ck_crm_settings_cap_pushes")),
        sa.CheckConstraint("cap_days >= 1", name=op.f("ck_crm_settings_cap_days")),
        _program("crm_settings"),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_crm_settings")),
    )
    op.create_table(
        "pushes",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("template", sa.Text(), nullable=True),
        sa.Column("skus", JSON, nullable=False),
        sa.Column("segment_id", ID, nullable=True),
        sa.Column("channel", _channel(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _program("pushes"),
        _member("pushes"),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["customer_segments.id"],
            name="fk_pushes_segment_id_customer_segments",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pushes")),
        sa.UniqueConstraint("member_id", "request_id", name=op.f("uq_pushes_member_id_request_id")),
    )
    op.create_index("ix_pushes_member_created", "pushes", ["member_id", "created_at"])
    op.create_index("ix_pushes_program_created", "pushes", ["program_id", "created_at"])
    op.create_table(
        "push_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("push_id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link_id", ID, nullable=True),
        sa.Column("send_at", TS, nullable=False),
        sa.Column("status", _enum("messagestatus", "pending", "sent", "failed"), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["push_id"], ["pushes.id"], name="fk_push_messages_push_id_pushes", ondelete="CASCADE"
        ),
        _program("push_messages"),
        _member("push_messages"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_push_messages_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["share_links.id"], name="fk_push_messages_link_id_share_links", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_messages")),
    )
    op.create_index("ix_push_messages_push", "push_messages", ["push_id", "id"])
    op.create_index("ix_push_messages_customer_send", "push_messages", ["customer_id", "send_at"])
    op.create_index("ix_push_messages_due", "push_messages", ["status", "send_at"])
    op.create_index("ix_push_messages_program_send", "push_messages", ["program_id", "send_at"])
    op.create_table(
        "push_skips",
        sa.Column("id", ID, nullable=False),
        sa.Column("push_id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["push_id"], ["pushes.id"], name="fk_push_skips_push_id_pushes", ondelete="CASCADE"
        ),
        _program("push_skips"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_push_skips_customer_id_customers", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_skips")),
        sa.UniqueConstraint("push_id", "customer_id", name=op.f("uq_push_skips_push_id_customer_id")),
    )
    op.create_index("ix_push_skips_program_id", "push_skips", ["program_id"])
    op.create_index("ix_push_skips_customer_id", "push_skips", ["customer_id"])
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_id", ID, nullable=True))
        batch_op.create_foreign_key(
            "fk_share_links_push_id_pushes", "pushes", ["push_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_share_links_push_id", ["push_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.drop_index("ix_share_links_push_id")
        batch_op.drop_constraint("fk_share_links_push_id_pushes", type_="foreignkey")
        batch_op.drop_column("push_id")
    for table in ("push_skips", "push_messages", "pushes", "crm_settings", "customer_segments"):
        op.drop_table(table)
    op.drop_table("customer_consents")
    op.drop_table("customers")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("tags")
