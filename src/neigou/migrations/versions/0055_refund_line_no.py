"""refunds: the order line a refund was for

``refunds.line_no`` (nullable): the ``order_lines.line_no`` of the one line a platform's refund took
its whole amount off (``orders.service.refund`` given a line), null for a refund of the whole order
(the shop's, through the API) and for every refund stored before. The ledger already reversed such a
refund's commission line by line; the column lets analytics rebuild the same figure from the refund
facts. Added in place on both databases; no index (it is read with its refund's order).

Downgrading drops the column: the refunds stay, without their line.

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-07 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0055"
down_revision: str | None = "0054"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("refunds", sa.Column("line_no", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("line_no")
