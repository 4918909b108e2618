"""member_inviter_periods: the periods that name an inviter, by index

A backdated move of a member to another inviter is refused when an order of one of the member's recruits
was already priced with the old chain (``orders.priced``): the guard reads the inviter periods that name
the moved member as inviter, and no index began with ``inviter_id``, so it scanned the whole table
(about 73 ms at 200,000 periods on PostgreSQL, 0.25 ms with the index) while the move held its program's
lock and the program's order intake waited. ``ix_member_inviter_periods_inviter`` serves it.

The table holds a row or two per member (not per order), so the build in the migrations' transaction
is short; on a very large deployment it can be built by hand first, ``CREATE INDEX CONCURRENTLY
ix_member_inviter_periods_inviter ON member_inviter_periods (inviter_id)``, and the upgrade skips it.

Downgrading drops the index.

Revision ID: 0062
Revises: 0061
Create Date: 2026-12-07 13:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0062"
down_revision: str | None = "0061"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_member_inviter_periods_inviter"


def upgrade() -> None:
    op.create_index(NAME, "member_inviter_periods", ["inviter_id"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index(NAME, table_name="member_inviter_periods", if_exists=True)
