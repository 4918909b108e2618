"""merchant review: an organization may hold a merchant's new coupon or commission rate for approval

``organizations.review_merchant_changes`` switches the review on; ``merchant_reviews`` records each
request (pending → approved | rejected) and ``coupon_templates.live`` keeps a coupon under review out
of links, claims, quotes and campaigns. ``campaigns.merchant_id`` names the merchant that published
a campaign on its own skus. Existing coupons are live, existing organizations review
nothing; downgrading drops the table and the columns.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Columns are added in place, never by copying a table (SQLite's batch mode would drop and copy
    # organizations, coupons and campaigns, which other tables' rows refer to).
    op.add_column(
        "organizations",
        sa.Column("review_merchant_changes", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "coupon_templates", sa.Column("live", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    if op.get_bind().dialect.name == "sqlite":  # a column with its reference, added in place
        op.execute(
            "ALTER TABLE campaigns ADD COLUMN merchant_id INTEGER"
            " CONSTRAINT fk_campaigns_merchant_id_merchants REFERENCES merchants (id)"
        )
    else:
        op.add_column("campaigns", sa.Column("merchant_id", ID, nullable=True))
        op.create_foreign_key(
            "fk_campaigns_merchant_id_merchants", "campaigns", "merchants", ["merchant_id"], ["id"]
        )
    op.create_index("ix_campaigns_merchant_id", "campaigns", ["merchant_id"], unique=False)
    op.create_table(
        "merchant_reviews",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("merchant_id", ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum("coupon", "commission_rate", name="reviewkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("coupon_id", ID, nullable=True),
        sa.Column("product_id", ID, nullable=True),
        sa.Column("rate_before_bp", sa.Integer(), nullable=True),
        sa.Column("rate_after_bp", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("pending", "approved", "rejected", name="reviewstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_merchant_reviews_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_reviews_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupon_templates.id"],
            name=op.f("fk_merchant_reviews_coupon_id_coupon_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_merchant_reviews_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_reviews")),
    )
    op.create_index(
        "ix_merchant_reviews_status", "merchant_reviews", ["organization_id", "status"], unique=False
    )
    op.create_index(
        op.f("ix_merchant_reviews_merchant_id"), "merchant_reviews", ["merchant_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_merchant_reviews_merchant_id"), table_name="merchant_reviews")
    op.drop_index("ix_merchant_reviews_status", table_name="merchant_reviews")
    op.drop_table("merchant_reviews")
    op.drop_index("ix_campaigns_merchant_id", table_name="campaigns")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        if op.get_bind().dialect.name != "sqlite":  # SQLite's copy of the table leaves it out
            batch_op.drop_constraint("fk_campaigns_merchant_id_merchants", type_="foreignkey")
        batch_op.drop_column("merchant_id")
    # Natively, not by copying the table: other tables refer to coupons and organizations.
    op.drop_column("coupon_templates", "live")
    op.drop_column("organizations", "review_merchant_changes")
