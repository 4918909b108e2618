"""offers: a coupon or promotion may be paused and resumed

``coupon_templates.paused`` and ``promotions.paused`` take an offer out of claims, quotes and order
pricing while set, without touching its window; ending an offer moves its ``ends_at`` to the moment it
was ended. Existing offers run; downgrading drops both columns.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place, never by copying the tables (claims, links and reviews refer to coupons).
    for table in ("coupon_templates", "promotions"):
        op.add_column(table, sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    for table in ("coupon_templates", "promotions"):
        op.drop_column(table, "paused")
