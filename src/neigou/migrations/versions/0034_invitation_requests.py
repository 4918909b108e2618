"""events: invitation codes issued under the caller's idempotency key

``event_invitation_requests`` keeps, per event and key (the ``Idempotency-Key`` of
``POST /events/{id}/invitations``, or the workspace form's request id, up to 64 characters), the
employee, the count asked for and the codes issued. The unique ``(event_id, request_id)`` makes a
retry answer those codes instead of issuing more within the guest quota, and lets only one of two
retries at once issue them. Codes issued before it were issued under no key. A new table: nothing
is rewritten; downgrading drops it.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 02:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "event_invitation_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column(
            "codes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_invitation_requests_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["event_employees.id"],
            name=op.f("fk_event_invitation_requests_employee_id_event_employees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_invitation_requests")),
        sa.UniqueConstraint(
            "event_id", "request_id", name=op.f("uq_event_invitation_requests_event_id_request_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("event_invitation_requests")
