"""feed: campaigns, the member's posts for their groups with group robots, and group live codes

Campaigns (with their items) are what the feed shows; share links carry the campaign they were made
from, so an order through one earns the campaign's boost. Posts keep one text per group and the links
made for it. Live codes rotate visitors through an owner's groups and remember each group's QR image,
its scans and the owner's "all groups full" alerts. Orders get an index by link code (orders per post).

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-04 05:32:15.195664
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import neigou.kit.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("coupon_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("commission_boost_bp", sa.Integer(), nullable=False),
        sa.Column("starts_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("copy", sa.String(length=1000), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "commission_boost_bp >= 0 AND commission_boost_bp <= 10000",
            name=op.f("ck_campaigns_boost_in_range"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_campaigns_window_order")),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_campaigns_brand_id_brands")),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupon_templates.id"], name=op.f("fk_campaigns_coupon_id_coupon_templates")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_campaigns_program_id_programs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaigns_program_window", ["program_id", "starts_at", "ends_at"], unique=False
        )

    op.create_table(
        "campaign_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_items_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_campaign_items_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_items")),
        sa.UniqueConstraint("campaign_id", "sku", name=op.f("uq_campaign_items_campaign_id_sku")),
    )
    with op.batch_alter_table("campaign_items", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_items_sku", ["sku"], unique=False)

    op.create_table(
        "group_live_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("full_since", neigou.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("full_scans", sa.Integer(), nullable=False),
        sa.Column("created_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_group_live_codes_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["owner_member_id"],
            ["members.id"],
            name=op.f("fk_group_live_codes_owner_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_group_live_codes_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_live_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_group_live_codes_code")),
    )
    with op.batch_alter_table("group_live_codes", schema=None) as batch_op:
        batch_op.create_index("ix_group_live_codes_owner", ["owner_member_id"], unique=False)

    op.create_table(
        "group_live_code_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("live_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("full_since", neigou.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["live_code_id"],
            ["group_live_codes.id"],
            name=op.f("fk_group_live_code_alerts_live_code_id_group_live_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_member_id"],
            ["members.id"],
            name=op.f("fk_group_live_code_alerts_owner_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_live_code_alerts")),
        sa.UniqueConstraint(
            "live_code_id", "full_since", name=op.f("uq_group_live_code_alerts_live_code_id_full_since")
        ),
    )
    with op.batch_alter_table("group_live_code_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_group_live_code_alerts_owner", ["owner_member_id", "created_at"], unique=False
        )

    op.create_table(
        "group_live_code_groups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("live_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("qr_image", sa.LargeBinary(), nullable=True),
        sa.Column("qr_content_type", sa.String(length=40), nullable=True),
        sa.Column("qr_uploaded_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["chat_groups.id"],
            name=op.f("fk_group_live_code_groups_group_id_chat_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["live_code_id"],
            ["group_live_codes.id"],
            name=op.f("fk_group_live_code_groups_live_code_id_group_live_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_live_code_groups")),
        sa.UniqueConstraint(
            "live_code_id", "group_id", name=op.f("uq_group_live_code_groups_live_code_id_group_id")
        ),
        sa.UniqueConstraint(
            "live_code_id", "position", name=op.f("uq_group_live_code_groups_live_code_id_position")
        ),
    )
    op.create_table(
        "group_posts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("text", sa.String(length=4000), nullable=False),
        sa.Column(
            "slot",
            sa.Enum("now", "morning", "noon", "evening", name="slot", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("scheduled_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "delivery",
            sa.Enum("robot", "task", name="delivery", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "to_copy",
                "sent",
                "copied",
                "failed",
                name="poststatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("done_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["chat_groups.id"],
            name=op.f("fk_group_posts_group_id_chat_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_group_posts_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_group_posts_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_posts")),
    )
    with op.batch_alter_table("group_posts", schema=None) as batch_op:
        batch_op.create_index("ix_group_posts_due", ["status", "scheduled_at"], unique=False)
        batch_op.create_index("ix_group_posts_member_scheduled", ["member_id", "scheduled_at"], unique=False)

    op.create_table(
        "group_robots",
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=False),
        sa.Column("updated_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["chat_groups.id"],
            name=op.f("fk_group_robots_group_id_chat_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_group_robots")),
    )
    op.create_table(
        "group_post_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["share_links.id"],
            name=op.f("fk_group_post_links_link_id_share_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["group_posts.id"],
            name=op.f("fk_group_post_links_post_id_group_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_post_links")),
        sa.UniqueConstraint("post_id", "link_id", name=op.f("uq_group_post_links_post_id_link_id")),
    )
    with op.batch_alter_table("group_post_links", schema=None) as batch_op:
        batch_op.create_index("ix_group_post_links_link", ["link_id"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_program_link", ["program_id", "link_code"], unique=False)

    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_share_links_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_share_links_campaign_id_campaigns"),
            "campaigns",
            ["campaign_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_share_links_campaign_id_campaigns"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_share_links_campaign_id"))
        batch_op.drop_column("campaign_id")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_program_link")

    with op.batch_alter_table("group_post_links", schema=None) as batch_op:
        batch_op.drop_index("ix_group_post_links_link")

    op.drop_table("group_post_links")
    op.drop_table("group_robots")
    with op.batch_alter_table("group_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_group_posts_member_scheduled")
        batch_op.drop_index("ix_group_posts_due")

    op.drop_table("group_posts")
    op.drop_table("group_live_code_groups")
    with op.batch_alter_table("group_live_code_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_group_live_code_alerts_owner")

    op.drop_table("group_live_code_alerts")
    with op.batch_alter_table("group_live_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_group_live_codes_owner")

    op.drop_table("group_live_codes")
    with op.batch_alter_table("campaign_items", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_items_sku")

    op.drop_table("campaign_items")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_program_window")

    op.drop_table("campaigns")
