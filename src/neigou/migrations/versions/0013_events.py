"""events: employee-purchase live events, their price lists, employees, invitations, reservations

Orders may name the event they count for.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-04 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from neigou.kit.db import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("program_id", BigId, sa.ForeignKey("programs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("guests_per_employee", sa.Integer(), nullable=False),
        sa.Column("hold_minutes", sa.Integer(), nullable=False),
        sa.Column("stream_url", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name="window"),
    )
    op.create_index("ix_events_program_starts", "events", ["program_id", "starts_at"])
    op.create_table(
        "event_items",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("event_id", BigId, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("per_person_limit", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.UniqueConstraint("event_id", "sku"),
        sa.CheckConstraint("reserved >= 0 AND reserved <= stock", name="stock"),
    )
    op.create_table(
        "event_employees",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("event_id", BigId, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("employee_no", sa.String(64), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("member_id", BigId, sa.ForeignKey("members.id"), nullable=True),
        sa.Column("invitations", sa.Integer(), nullable=False),
        sa.UniqueConstraint("event_id", "employee_no"),
    )
    op.create_table(
        "event_invitations",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("event_id", BigId, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "employee_id", BigId, sa.ForeignKey("event_employees.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("customer_ref_hash", sa.String(64), nullable=True),
        sa.Column("bound_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_event_invitations_employee", "event_invitations", ["employee_id"])
    op.create_table(
        "event_reservations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("customer_ref_hash", sa.String(64), nullable=False),
        sa.Column("customer_ref_masked", sa.String(32), nullable=False),
        sa.Column("employee_id", sa.BigInteger(), nullable=True),
        sa.Column("invitation_id", sa.BigInteger(), nullable=True),
        sa.Column("link_id", sa.BigInteger(), nullable=True),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("held", "paid", "expired", name="reservationstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("reserved_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="quantity"),
    )
    op.create_index("ix_event_reservations_hold", "event_reservations", ["event_id", "status", "expires_at"])
    op.create_index("ix_event_reservations_customer", "event_reservations", ["event_id", "customer_ref_hash"])
    op.create_table(
        "event_customer_counts",
        sa.Column("item_id", sa.BigInteger(), primary_key=True),
        sa.Column("customer_ref_hash", sa.String(64), primary_key=True),
        sa.Column("reserved", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", BigId, nullable=True))
        batch_op.create_foreign_key("fk_orders_event_id_events", "events", ["event_id"], ["id"])
        batch_op.create_index("ix_orders_event_member", ["event_id", "member_id"])


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_event_member")
        batch_op.drop_constraint("fk_orders_event_id_events", type_="foreignkey")
        batch_op.drop_column("event_id")
    op.drop_table("event_customer_counts")
    op.drop_index("ix_event_reservations_customer", table_name="event_reservations")
    op.drop_index("ix_event_reservations_hold", table_name="event_reservations")
    op.drop_table("event_reservations")
    op.drop_index("ix_event_invitations_employee", table_name="event_invitations")
    op.drop_table("event_invitations")
    op.drop_table("event_employees")
    op.drop_table("event_items")
    op.drop_index("ix_events_program_starts", table_name="events")
    op.drop_table("events")
