"""group sales: indexes on orders(group_id, paid_at) and coupon_claims(group_id, claimed_at)

Group sales and the leaderboards count a program's orders and claims per group over a span of days;
without these indexes each group's figures scanned the program's orders or every claim.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_group_paid", "orders", ["group_id", "paid_at"])
    op.create_index("ix_coupon_claims_group_at", "coupon_claims", ["group_id", "claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_coupon_claims_group_at", table_name="coupon_claims")
    op.drop_index("ix_orders_group_paid", table_name="orders")
