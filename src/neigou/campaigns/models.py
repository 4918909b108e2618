"""Campaigns (选品库): a merchant's or operator's selection of products for a program's groups, with an
optional coupon, a commission boost inside the campaign's window, and its selling copy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, UTCDateTime


class Campaign(Base):
    """A program's campaign: live from ``starts_at`` (inclusive) to ``ends_at`` (exclusive)."""

    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_program_window", "program_id", "starts_at", "ends_at"),
        CheckConstraint("commission_boost_bp >= 0 AND commission_boost_bp <= 10000", name="boost_in_range"),
        CheckConstraint("ends_at > starts_at", name="window_order"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    # The merchant (店家) that published it (its own skus only); None: the organization's operators.
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True, nullable=True)
    # The brand behind the campaign, when it is one brand's.
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"), nullable=True)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"), nullable=True)
    # Added to the product's commission rate for orders through the campaign's links inside the window.
    commission_boost_bp: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    copy: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CampaignItem(Base):
    """A product of a campaign, in the order the campaign lists them."""

    __tablename__ = "campaign_items"
    __table_args__ = (UniqueConstraint("campaign_id", "sku"), Index("ix_campaign_items_sku", "sku"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
