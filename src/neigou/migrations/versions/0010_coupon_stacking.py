"""coupon stacking: each coupon says whether it combines with others on one order

Orders used to stack any number of coupons. A coupon is now exclusive (used alone) or combinable
(with coupons of other kinds, at most one per kind); existing coupons become combinable.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 23:00:00.000000
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
    with op.batch_alter_table("coupon_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "stacking",
                sa.Enum("exclusive", "combinable", name="couponstacking", native_enum=False, length=20),
                server_default="combinable",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("coupon_templates", schema=None) as batch_op:
        batch_op.drop_column("stacking")
