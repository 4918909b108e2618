"""member_inviter_periods: a member's dated inviters, as member_tier_periods dates tiers

``members.inviter_id`` was overwritten when an operator moved a member, so an order paid before the move
and reported after it (a platform feed, an import, a retried webhook) paid the override to the new
upline, and a month's recruits moved with it. Each member now has dated inviter periods: the inviter
(NULL: nobody) from ``effective_from`` on; a move closes the current period by opening the next one.

Each member stored before gets one period from their ``joined_at`` with the inviter they have now:
nothing older was kept, so the current inviter is the best account of the past there is (and what
commission read until now). Its reason is ``backfill``.

Downgrading drops the table; ``members.inviter_id`` still holds each member's current inviter.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0050"
down_revision: str | None = "0049"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "member_inviter_periods"
INDEX = "ix_member_inviter_periods_member_from"
_MEMBERS = sa.table(
    "members",
    sa.column("id", sa.BigInteger),
    sa.column("inviter_id", sa.BigInteger),
    sa.column("joined_at", sa.DateTime),
)


def upgrade() -> None:
    periods = op.create_table(
        TABLE,
        sa.Column("id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("inviter_id", ID, nullable=True),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_inviter_periods_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"], ["members.id"], name=op.f("fk_member_inviter_periods_inviter_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_inviter_periods")),
    )
    op.create_index(INDEX, TABLE, ["member_id", "effective_from"], unique=False)
    backfill(op.get_bind(), periods)


def backfill(conn: sa.Connection, periods: sa.Table) -> int:
    """One open period per member, from their ``joined_at`` with their current inviter; how many."""
    m = _MEMBERS
    rows = sa.select(m.c.id, m.c.inviter_id, m.c.joined_at, sa.literal("backfill")).order_by(m.c.id)
    done = conn.execute(
        periods.insert().from_select(["member_id", "inviter_id", "effective_from", "reason"], rows)
    )
    return int(done.rowcount or 0)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.drop_table(TABLE)
